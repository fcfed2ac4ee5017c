"""The DuckDB catalogue: SQL files in sql/, built over the Parquet store."""
