-- Time ranges where a tag holds (smoothed, blank frames skipped, gaps bridged).
CREATE OR REPLACE VIEW segments AS
SELECT n.file_name, s.*
FROM results_segments AS s
LEFT JOIN video_names AS n USING (video_id);
