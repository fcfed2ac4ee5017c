-- Severity per video, sensitive concept and time bin (peak smoothed score in the bin).
CREATE OR REPLACE VIEW moderation_timeline AS
SELECT n.file_name, t.*
FROM results_moderation_timeline AS t
LEFT JOIN video_names AS n USING (video_id);
