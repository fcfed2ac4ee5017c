-- Time ranges to check: a sensitive concept held there, with its peak frame's thumbnail.
CREATE OR REPLACE VIEW moderation_segments AS
SELECT n.file_name, s.*
FROM results_moderation_segments AS s
LEFT JOIN video_names AS n USING (video_id);
