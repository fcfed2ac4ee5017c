"""reelcat's tests: real ffmpeg, Ray, DuckDB, Dagster and a real browser (see conftest)."""
