-- The review queue's order, the one definition of it: videos to review before cleared
-- ones, riskiest first, then by id; `position` 1 = look first. Reads `results_video_decisions`.
SELECT video_id,
       row_number() OVER (ORDER BY decision = 'clear', risk DESC, video_id)::INTEGER AS position,
       decision, risk, peak_severity, seconds_flagged, segments, evidence, raw_flagged_frames
FROM results_video_decisions
