-- Videos whose decode failed, with the reason (their manifest row says 'ok'): nothing of
-- them is catalogued. A damaged video (decoded with errors, its frames used) is not here:
-- it is a row of frame_damage_path() (kind 'damaged'), which video_summaries reads.
CREATE OR REPLACE VIEW frame_errors AS
SELECT * FROM read_parquet(frame_errors_path());
