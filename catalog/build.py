"""Build the DuckDB catalogue over the Parquet store, atomically.

Everything reads Parquet through paths relative to the output folder, so the catalogue
works wherever that folder is moved: reelcat sets DuckDB's `file_search_path` when it
opens it (from the duckdb shell, start it inside the output folder). Views (`manifest`,
`frames`, `frame_tags`) stay live over the per-video files; the derived tables are copied
in. The file is built under a temporary name and renamed, so readers never see half a
catalogue.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa

from reelcat.groups import named_groups_dir
from reelcat.store import FRAME_TAGS, FRAMES
from reelcat.verdicts import verdict_dir
from reelcat.vocabulary import Vocabulary

SQL_DIR = Path(__file__).resolve().parent / "sql"
CATALOG_FILE = "catalog.duckdb"
_PARQUET_VIEWS = {"frames": ("frames/*/*/*.parquet", FRAMES),
                  "frame_tags": ("tags/*/*/*.parquet", FRAME_TAGS)}
# In dependency order; each file is one idempotent CREATE OR REPLACE.
_OBJECTS = ("vocabulary", "video_names", "thresholds", "segments", "video_tags",
            "video_summaries", "tag_frequencies", "moderation_timeline",
            "moderation_segments", "video_risk", "review_queue", "verdicts",
            "verdicts_effective", "labels_final", "named_groups", "named_group_labels",
            "macro_video_summary",
            "macro_timeline", "macro_similar_frames")


def sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text()


def open_catalog(out: str | Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the catalogue with its Parquet paths resolved against the output folder."""
    out = Path(out).resolve()
    path = out / CATALOG_FILE
    if not path.exists():
        raise FileNotFoundError(f"no catalogue at {path}: run `reelcat run` first")
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("SET file_search_path = ?", [str(out)])
    return con


def build_catalog(out: str | Path, *, model_id: str, sampling_id: str, vocab: Vocabulary,
                  vocabulary_id: str, interval_seconds: float) -> Path:
    """(Re)build out/catalog.duckdb from the Parquet store; returns its path."""
    out = Path(out).resolve()
    verdict_dir(out)  # the logs' first (empty) files, so their views always bind
    named_groups_dir(out)
    final = out / CATALOG_FILE
    tmp = out / f".{CATALOG_FILE}.building"
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        con.execute("SET file_search_path = ?", [str(out)])
        con.execute(sql("catalog_settings"), {
            "model_id": model_id, "sampling_id": sampling_id, "vocabulary_id": vocabulary_id,
            "interval_seconds": interval_seconds})
        con.execute(sql("manifest"))
        for view, (pattern, schema) in _PARQUET_VIEWS.items():
            if any(out.glob(pattern)):
                con.execute(sql(view))
            else:  # no files yet: an empty table of the right shape, not an error
                con.register("empty_rows", schema.empty_table())
                con.execute(f"CREATE OR REPLACE TABLE {view} AS SELECT * FROM empty_rows")
                con.unregister("empty_rows")
        con.register("vocabulary_rows", pa.Table.from_pylist(
            [{"tag": t.name, "category": t.category, "prompts": list(t.prompts)}
             for t in vocab.tags]))
        for name in _OBJECTS:
            con.execute(sql(name))
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, final)
    return final
