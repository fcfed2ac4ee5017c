"""Build the DuckDB catalogue over the Parquet store, atomically.

The base views (`manifest`, `frames`, `frame_tags`, `verdicts`, `frame_verdicts`, …) are
reelcat's own (reelcat/storage/sql, see reelcat.storage.views), defined here exactly as
Python readers see them; the tables people query are built from catalog/sql/*.sql.
Paths are macros relative to the output folder, so the catalogue works wherever that
folder is moved: reelcat opens it read-only through reelcat.storage.readonly, which resolves
them against the folder and lets a query read nothing else and write nothing (from the
duckdb shell, start it inside the output folder). The file is built under a unique
temporary name and renamed, so readers never see half a catalogue.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa

from reelcat.storage.layout import Layout
from reelcat.storage.readonly import open_read_only
from reelcat.storage.space import OutOfSpace, is_out_of_space
from reelcat.storage.views import ensure_logs, open_store, sql
from reelcat.tagging.vocabulary import Vocabulary

SQL_DIR = Path(__file__).resolve().parent / "sql"
# In dependency order; each file is one idempotent CREATE OR REPLACE.
_OBJECTS = """vocabulary thresholds segments video_tags video_summaries tag_frequencies
    moderation_timeline moderation_segments video_risk review_queue labels_final
    named_group_labels macro_video_summary macro_timeline macro_similar_frames""".split()


def open_catalog(out: str | Path, url: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open the catalogue, every reader's way in: a connection that cannot write, copy,
    attach, install, load or change settings, and reads files only inside the output
    folder (reelcat.storage.readonly), or, given its object storage `url`, only there."""
    return open_read_only(Layout(Path(out).resolve(), url))


def build_catalog(
    out: str | Path,
    *,
    model_id: str,
    sampling_id: str,
    vocab: Vocabulary,
    vocabulary_id: str,
    interval_seconds: float,
    results_key: str = "none",
    url: str | None = None,
) -> Path:
    """(Re)build the catalogue file from the Parquet store; returns its path. For an
    output published to object storage at `url`, the file's paths name the objects there
    (it is built from the local mirror, then its path macros are replaced)."""
    layout = Layout(Path(out).resolve())
    ensure_logs(layout)  # the logs' first (empty) files, so their views stay live
    fd, tmp = tempfile.mkstemp(
        prefix=f".{layout.catalog.name}.", suffix=".building", dir=layout.out
    )
    os.close(fd)
    os.unlink(tmp)  # DuckDB creates the file itself
    try:
        con = open_store(
            layout,
            model_id=model_id,
            sampling_id=sampling_id,
            vocabulary_id=vocabulary_id,
            results_key=results_key,
            database=tmp,
        )
        try:
            con.execute(
                sql("catalog_settings", SQL_DIR),
                {
                    "model_id": model_id,
                    "sampling_id": sampling_id,
                    "vocabulary_id": vocabulary_id,
                    "results_key": results_key,
                    "interval_seconds": interval_seconds,
                },
            )
            con.register(
                "vocabulary_rows",
                pa.Table.from_pylist(
                    [
                        {"tag": t.name, "category": t.category, "prompts": list(t.prompts)}
                        for t in vocab.tags
                    ]
                ),
            )
            for name in _OBJECTS:
                con.execute(sql(name, SQL_DIR))
            if url:
                published = Layout(layout.out, url)
                for macro in published.sql_macros(
                    model_id, sampling_id, vocabulary_id, results_key, absolute=True
                ):
                    con.execute(macro)
            con.execute("CHECKPOINT")
        finally:
            _close(con)
        os.replace(tmp, layout.catalog)
    except Exception as exc:
        if is_out_of_space(exc):
            needed = layout.catalog.stat().st_size if layout.catalog.exists() else 0
            raise OutOfSpace(layout.out, needed, "the catalogue") from None
        raise
    finally:
        Path(tmp).unlink(missing_ok=True)
        Path(tmp + ".wal").unlink(missing_ok=True)
    return layout.catalog


def _close(con: duckdb.DuckDBPyConnection) -> None:
    """Close; a database DuckDB gave up on (a full disk) may refuse even that."""
    try:
        con.close()
    except duckdb.Error:
        pass
