-- Every file found under the archive roots, bad ones included (status = 'error').
CREATE OR REPLACE VIEW manifest AS
SELECT *, regexp_extract(path, '[^/]+$') AS file_name
FROM read_parquet(manifest_path());
