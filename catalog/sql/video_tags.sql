-- Per video and tag: time coverage (tf), document frequency, idf, tf-idf and rank.
CREATE OR REPLACE VIEW video_tags AS
SELECT n.file_name, t.*
FROM read_parquet(video_tags_path()) AS t
LEFT JOIN video_names AS n USING (video_id)
WHERE t.video_id IN (SELECT video_id FROM manifest WHERE catalogued);
