-- Time ranges where a tag holds (smoothed, blank frames skipped, gaps bridged).
CREATE OR REPLACE TABLE segments AS
SELECT m.file_name, s.*
FROM segment_rows AS s JOIN manifest AS m USING (video_id)
QUALIFY row_number() OVER (PARTITION BY s.video_id, s.tag, s.start ORDER BY m.path) = 1
ORDER BY s.video_id, s.tag, s.start;
