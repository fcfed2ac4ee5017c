-- video_summary('beach.mp4'): a video's summary by id, path or file name.
CREATE OR REPLACE MACRO video_summary(v) AS TABLE
SELECT * FROM video_summaries WHERE video_id = v OR path = v OR file_name = v;
