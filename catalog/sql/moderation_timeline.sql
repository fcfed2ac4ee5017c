-- Severity per video, sensitive concept and time bin (peak smoothed score in the bin).
CREATE OR REPLACE TABLE moderation_timeline AS
SELECT n.file_name, t.*
FROM read_parquet(moderation_timeline_path()) AS t
LEFT JOIN video_names AS n USING (video_id)
ORDER BY t.video_id, t.concept, t.bin;
