-- Sampled frames (embedding, thumbnail) of the catalogue's model and sampling.
CREATE OR REPLACE VIEW frames AS
SELECT f.*
FROM read_parquet('frames/*/*/*.parquet', union_by_name = true) AS f
JOIN catalog_settings AS s USING (model_id, sampling_id);
