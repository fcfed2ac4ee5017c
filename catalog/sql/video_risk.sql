-- Per video: review or clear, how risky, its place in the review queue (position) and
-- the evidence behind the decision.
CREATE OR REPLACE VIEW video_risk AS
SELECT n.file_name, n.path, n.duration, r.*
FROM read_parquet(video_risk_path()) AS r
LEFT JOIN video_names AS n USING (video_id);
