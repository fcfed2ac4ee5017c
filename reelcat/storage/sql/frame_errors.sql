-- Videos whose decode failed, with the reason (their manifest row says 'ok').
CREATE OR REPLACE VIEW frame_errors AS
SELECT * FROM read_parquet(frame_errors_path());
