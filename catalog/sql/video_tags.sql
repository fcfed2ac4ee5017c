-- Per video and tag: time coverage (tf), document frequency, idf, tf-idf and rank.
CREATE OR REPLACE TABLE video_tags AS
SELECT n.file_name, t.*
FROM read_parquet(video_tags_path()) AS t
LEFT JOIN video_names AS n USING (video_id)
ORDER BY t.video_id, t.rank;
