"""The output folder: every path (layout), every schema (schemas), atomic Parquet
writes (parquet), and the DuckDB views every reader shares (views, sql/)."""
