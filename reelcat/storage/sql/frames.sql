-- Sampled frames (embedding, thumbnail) of the archive's current videos, for the
-- configured model and sampling.
CREATE OR REPLACE VIEW frames AS
SELECT f.*
FROM read_parquet(frames_path(), union_by_name = true) AS f
WHERE f.video_id IN (SELECT video_id FROM manifest WHERE catalogued);
