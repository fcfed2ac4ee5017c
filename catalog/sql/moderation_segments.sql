-- Time ranges to check: a sensitive concept held there, with its peak frame's thumbnail.
CREATE OR REPLACE TABLE moderation_segments AS
SELECT n.file_name, s.*
FROM read_parquet(moderation_segments_path()) AS s
LEFT JOIN video_names AS n USING (video_id)
ORDER BY s.video_id, s.start;
