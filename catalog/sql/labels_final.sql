-- Final per-frame labels: the model's (score at or above the tag's accept threshold),
-- overridden by the answer in force on that frame (frame_verdicts: newest covering
-- answer wins; 'unsure' keeps the model's).
CREATE OR REPLACE VIEW labels_final AS
SELECT g.video_id, g.t, g.frame, g.tag, g.score,
       g.score >= th.accept AS model_label,
       fv.verdict,
       CASE fv.verdict WHEN 'yes' THEN true WHEN 'no' THEN false
                       ELSE g.score >= th.accept END AS label,
       CASE WHEN fv.verdict IN ('yes', 'no') THEN 'verdict' ELSE 'model' END AS source
FROM frame_tags AS g
JOIN thresholds AS th USING (tag)
LEFT JOIN frame_verdicts AS fv USING (video_id, t, tag);
