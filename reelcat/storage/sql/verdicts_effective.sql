-- The answers in force: undo rows, skips and the answers undone removed, and the
-- newest answer per exact item (scope, video, tag, time range).
CREATE OR REPLACE VIEW verdicts_effective AS
WITH live AS (
    SELECT * FROM verdicts
    WHERE verdict IN ('yes', 'no', 'unsure')
      AND verdict_id NOT IN (SELECT undoes FROM verdicts WHERE undoes IS NOT NULL)
)
SELECT * FROM live
QUALIFY row_number() OVER (PARTITION BY scope, video_id, tag, start, "end"
                           ORDER BY answered_at DESC, verdict_id DESC) = 1;
