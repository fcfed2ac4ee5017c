-- The one rule for what people said about a stored frame: each answer in force covers
-- frames (scope 'frame': the stored frame nearest its time; scope 'video': every frame
-- of the video), and on each (frame, tag) the newest covering answer wins, whatever its
-- scope. 'unsure' means "keep the model's score". Python (reelcat.tagging.scores,
-- reelcat.feedback) and the catalogue (labels_final) both read this view.
CREATE OR REPLACE VIEW frame_verdicts AS
WITH frame_answers AS (
    SELECT v.verdict_id, v.scope, v.video_id, v.tag, v.verdict, v.answered_at, v.source,
           f.t, f.frame
    FROM verdicts_effective AS v
    JOIN frames AS f ON f.video_id = v.video_id
    WHERE v.scope = 'frame'
    QUALIFY row_number() OVER (PARTITION BY v.verdict_id
                               ORDER BY abs(f.t - v.start), f.t) = 1
),
video_answers AS (
    SELECT v.verdict_id, v.scope, v.video_id, v.tag, v.verdict, v.answered_at, v.source,
           f.t, f.frame
    FROM verdicts_effective AS v
    JOIN frames AS f ON f.video_id = v.video_id
    WHERE v.scope = 'video'
)
SELECT * FROM (SELECT * FROM frame_answers UNION ALL SELECT * FROM video_answers)
QUALIFY row_number() OVER (PARTITION BY video_id, t, tag
                           ORDER BY answered_at DESC, verdict_id DESC) = 1;
