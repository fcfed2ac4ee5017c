-- Final per-frame labels: the model's (score at or above the tag's accept threshold),
-- overridden by the latest verdict covering that frame (yes/no; 'unsure' keeps the model's).
CREATE OR REPLACE VIEW labels_final AS
WITH covering AS (
    SELECT g.video_id, g.t, g.tag, v.verdict, v.scope, v.answered_at
    FROM frame_tags AS g
    JOIN verdicts_effective AS v
      ON v.video_id = g.video_id AND v.tag = g.tag
     AND (v.scope = 'video' OR g.t BETWEEN v.start - 1e-6 AND v."end" + 1e-6)
    WHERE v.verdict IN ('yes', 'no')
    QUALIFY row_number() OVER (PARTITION BY g.video_id, g.t, g.tag
                               ORDER BY v.answered_at DESC) = 1
)
SELECT g.video_id, g.t, g.frame, g.tag, g.score,
       g.score >= th.accept AS model_label,
       c.verdict,
       CASE c.verdict WHEN 'yes' THEN true WHEN 'no' THEN false
                      ELSE g.score >= th.accept END AS label,
       CASE WHEN c.verdict IS NULL THEN 'model' ELSE 'verdict' END AS source
FROM frame_tags AS g
JOIN thresholds AS th USING (tag)
LEFT JOIN covering AS c USING (video_id, t, tag);
