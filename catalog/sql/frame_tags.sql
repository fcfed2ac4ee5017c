-- Per-frame tag scores in long form for the catalogue's model and vocabulary.
CREATE OR REPLACE VIEW frame_tags AS
SELECT g.*
FROM read_parquet('tags/*/*/*.parquet', union_by_name = true) AS g
JOIN catalog_settings AS s USING (model_id, vocabulary_id)
WHERE g.video_id IN (SELECT video_id FROM manifest WHERE status = 'ok');
