-- One display name per video id (a file copied twice has one id and two paths).
CREATE OR REPLACE VIEW video_names AS
SELECT video_id, min(file_name) AS file_name, min(path) AS path, any_value(duration) AS duration
FROM manifest GROUP BY video_id;
