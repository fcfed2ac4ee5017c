"""reelcat: catalogue video archives with CLIP, Ray, Parquet and DuckDB.

The core library. It never imports Dagster or the orchestration folders, so the same
code runs from a test, the CLI or a Ray worker.
"""
