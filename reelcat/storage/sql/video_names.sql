-- One display name per video id (a file copied twice has one id and two paths: the
-- first name and path in sort order). Every reader names videos from this view.
CREATE OR REPLACE VIEW video_names AS
SELECT video_id, min(file_name) AS file_name, min(path) AS path,
       any_value(duration) AS duration, bool_or(status = 'ok') AS ok, min(error) AS error
FROM manifest GROUP BY video_id;
