-- Every file found under the archive roots, bad ones included (status = 'error'), and
-- files no longer found that the catalogue still keeps (status = 'missing': their root is
-- unavailable, or they left it less than `keep_missing_days` ago). `catalogued`: the
-- video's frames, tags and summaries are in the catalogue (ok or missing).
CREATE OR REPLACE VIEW manifest AS
SELECT *, regexp_extract(path, '[^/]+$') AS file_name,
       status IN ('ok', 'missing') AS catalogued
FROM read_parquet(manifest_path(), union_by_name = true);
