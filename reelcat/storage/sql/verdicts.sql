-- The verdict log, append-only: every answer people gave, undo rows included.
CREATE OR REPLACE VIEW verdicts AS
SELECT v.*, n.file_name
FROM read_parquet(verdicts_path(), union_by_name = true) AS v
LEFT JOIN video_names AS n USING (video_id);
