-- Sampled frames (embedding, thumbnail) of the archive's current videos, for the
-- catalogue's model and sampling.
CREATE OR REPLACE VIEW frames AS
SELECT f.*
FROM read_parquet('frames/*/*/*.parquet', union_by_name = true) AS f
JOIN catalog_settings AS s USING (model_id, sampling_id)
WHERE f.video_id IN (SELECT video_id FROM manifest WHERE status = 'ok');
