"""Build the DuckDB catalogue over the Parquet store, atomically.

Views (`manifest`, `frames`, `frame_tags`) read the Parquet files through paths relative
to the output folder, so the catalogue works wherever that folder is moved: reelcat sets
DuckDB's `file_search_path` when it opens it (from the duckdb shell, run it inside the
output folder). Tables hold what is expensive to recompute: thresholds, segments,
video_tags, video_summaries, tag_frequencies. The file is built under a temporary name
and renamed, so readers never see half a catalogue.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from reelcat.store import FRAME_ERRORS, FRAME_TAGS, FRAMES, MANIFEST
from reelcat.summaries import default_thresholds, summarise, video_frames_from_rows
from reelcat.vocabulary import Vocabulary

SQL_DIR = Path(__file__).resolve().parent / "sql"
CATALOG_FILE = "catalog.duckdb"
_PARQUET_VIEWS = {"frames": ("frames/*/*/*.parquet", FRAMES),
                  "frame_tags": ("tags/*/*/*.parquet", FRAME_TAGS)}


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


def _create_parquet_views(con: duckdb.DuckDBPyConnection, out: Path) -> None:
    for view, (pattern, schema) in _PARQUET_VIEWS.items():
        if any(out.glob(pattern)):
            con.execute(sql(view))
        else:  # no files yet: an empty view of the right shape, not an error
            con.register(f"empty_{view}", schema.empty_table())
            con.execute(f"CREATE OR REPLACE TABLE {view} AS SELECT * FROM empty_{view}")


def _rows(rows: list[dict], schema: pa.Schema | None = None) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema)


SEGMENT_ROWS = pa.schema([("video_id", pa.string()), ("tag", pa.string()),
                          ("start", pa.float64()), ("end", pa.float64()),
                          ("duration", pa.float64()), ("frames", pa.int32()),
                          ("mean_score", pa.float64()), ("peak_score", pa.float64()),
                          ("peak_t", pa.float64())])
VIDEO_TAG_ROWS = pa.schema([("video_id", pa.string()), ("tag", pa.string()),
                            ("rank", pa.int32()), ("frames", pa.int32()),
                            ("seconds", pa.float64()), ("coverage", pa.float64()),
                            ("mean_score", pa.float64()), ("peak_score", pa.float64()),
                            ("tf", pa.float64()), ("df", pa.int32()), ("idf", pa.float64()),
                            ("tfidf", pa.float64()), ("weight", pa.float64()),
                            ("ubiquitous", pa.bool_())])
SUMMARY_ROWS = pa.schema([("video_id", pa.string()), ("frames", pa.int32()),
                          ("blank_frames", pa.int32()), ("top_tags", pa.list_(pa.string())),
                          ("top_coverage", pa.list_(pa.float64())),
                          ("top_scores", pa.list_(pa.float64())), ("about", pa.string())])


def build_catalog(out: str | Path, *, model_id: str, sampling_id: str, vocab: Vocabulary,
                  interval_seconds: float,
                  threshold_overrides: dict[str, tuple[float, float]] | None = None) -> Path:
    """(Re)build out/catalog.duckdb from the Parquet store; returns its path."""
    out = Path(out).resolve()
    final = out / CATALOG_FILE
    tmp = out / f".{CATALOG_FILE}.building"
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        con.execute("SET file_search_path = ?", [str(out)])
        con.execute(sql("catalog_settings"), {"model_id": model_id, "sampling_id": sampling_id,
                                              "vocabulary_id": vocab.id,
                                              "interval_seconds": interval_seconds})
        if not (out / "manifest.parquet").exists():
            pq.write_table(MANIFEST.empty_table(), out / "manifest.parquet")
        con.execute(sql("manifest"))
        _create_parquet_views(con, out)
        errors_path = out / "frame_errors.parquet"
        errors = pq.read_table(errors_path) if errors_path.exists() else FRAME_ERRORS.empty_table()
        con.register("frame_error_rows", errors)
        con.register("vocabulary_rows", _rows(
            [{"tag": t.name, "category": t.category} for t in vocab.tags]))

        videos = dict(con.execute(
            "SELECT video_id, any_value(duration) FROM manifest WHERE status = 'ok' "
            "AND video_id NOT IN (SELECT video_id FROM frame_error_rows) GROUP BY video_id"
        ).fetchall())
        frames = con.sql("SELECT video_id, t, brightness, contrast FROM frames").to_arrow_table()
        tags = con.sql("SELECT video_id, t, tag, score FROM frame_tags").to_arrow_table()
        tags_py = tags.to_pydict()
        scores_by_tag: dict = {}
        if tags.num_rows:
            import numpy as np
            tag_col = np.asarray(tags_py["tag"], dtype=object)
            score_col = np.asarray(tags_py["score"], dtype=np.float32)
            for name in vocab.names:
                scores_by_tag[name] = score_col[tag_col == name]
        thresholds = default_thresholds(scores_by_tag, vocab, threshold_overrides)
        con.register("threshold_rows", _rows([asdict(t) for t in thresholds.values()]))
        con.execute(sql("thresholds"))

        per_video = video_frames_from_rows(videos, frames.to_pydict(), tags_py)
        result = summarise(per_video, thresholds, interval_seconds)
        con.register("segment_rows", _rows(result["segments"], SEGMENT_ROWS))
        con.register("video_tag_rows", _rows(result["video_tags"], VIDEO_TAG_ROWS))
        con.register("summary_rows", _rows(result["video_summaries"], SUMMARY_ROWS))
        for name in ("segments", "video_tags", "video_summaries", "tag_frequencies",
                     "macro_video_summary", "macro_timeline", "macro_similar_frames"):
            con.execute(sql(name))
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, final)
    Path(str(tmp) + ".wal").unlink(missing_ok=True)
    return final
