-- Per-frame tag scores in long form: the current scores of the configured model and
-- vocabulary (adapted to people's answers once those were re-scored).
CREATE OR REPLACE VIEW frame_tags AS
SELECT g.*
FROM read_parquet(frame_tags_path(), union_by_name = true) AS g
WHERE g.video_id IN (SELECT video_id FROM manifest WHERE catalogued);
