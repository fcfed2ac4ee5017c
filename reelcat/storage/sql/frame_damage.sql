-- Videos whose frames decoded with errors (damaged files; their frames are used): the
-- error count and the first error (reelcat.ingest.pipeline).
CREATE OR REPLACE VIEW frame_damage AS
SELECT * FROM read_parquet(frame_damage_path());
