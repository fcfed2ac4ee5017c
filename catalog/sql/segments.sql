-- Time ranges where a tag holds (smoothed, blank frames skipped, gaps bridged).
CREATE OR REPLACE TABLE segments AS
SELECT n.file_name, s.*
FROM read_parquet(segments_path()) AS s
LEFT JOIN video_names AS n USING (video_id)
ORDER BY s.video_id, s.tag, s.start;
