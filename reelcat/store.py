"""The Parquet store: every table's pyarrow schema, written down once, and atomic writes.

Layout under the output folder::

    manifest.parquet                                  one row per file (errors too)
    frame_errors.parquet                              videos whose decode failed
    frames/<model>/<sampling>/<video_id>.parquet      per-frame embedding + thumbnail
    tags/<model>/<vocabulary>/<video_id>.parquet      per-frame tag scores, long form
    summaries/{thresholds,segments,video_tags,video_summaries}.parquet
    moderation/{timeline,segments,video_risk}.parquet
    pictures/                                         PNG charts, clouds, heat maps
    thumbnails/<video_id>/<frame>.jpg                 peak frames people look at
    catalog.duckdb                                    views and tables over the above

Files are written to a temporary name in the same folder and renamed, so a killed run
never leaves half a file, and a file that exists is complete.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

MANIFEST = pa.schema(
    [
        ("video_id", pa.string()),
        ("path", pa.string()),
        ("size_bytes", pa.int64()),
        ("status", pa.string()),
        ("error", pa.string()),
        ("duration", pa.float64()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("fps", pa.float64()),
        ("codec", pa.string()),
        ("rotation", pa.int32()),
        ("has_video", pa.bool_()),
        ("start_time", pa.float64()),
    ]
)

FRAMES = pa.schema(
    [
        ("video_id", pa.string()),
        ("t", pa.float64()),  # presentation time in seconds
        ("frame", pa.int32()),  # index among this video's sampled frames
        ("embedding", pa.list_(pa.float32())),  # unit length
        ("brightness", pa.float32()),  # mean pixel value 0..1, for blank frames
        ("contrast", pa.float32()),  # pixel std 0..1
        ("thumbnail", pa.binary()),  # small JPEG for people
        ("model_id", pa.string()),
        ("sampling_id", pa.string()),
    ]
)

# Per-video decode outcome: a video whose decode failed is an error row here, not a crash.
FRAME_ERRORS = pa.schema(
    [("video_id", pa.string()), ("path", pa.string()), ("error", pa.string())]
)

FRAME_TAGS = pa.schema(
    [
        ("video_id", pa.string()),
        ("t", pa.float64()),
        ("frame", pa.int32()),
        ("tag", pa.string()),
        ("cosine", pa.float32()),  # raw cosine similarity to the tag's prompt ensemble
        ("score", pa.float32()),  # calibrated probability: tag vs its negatives/background
        ("rank", pa.int16()),  # 1 = the tag with the highest cosine in this frame
        ("model_id", pa.string()),
        ("vocabulary_id", pa.string()),
    ]
)


# Derived tables, recomputed from the tag scores on every run (cheap, no decoding).
THRESHOLDS = pa.schema([("tag", pa.string()), ("accept", pa.float64()),
                        ("review", pa.float64()), ("source", pa.string())])

SEGMENTS = pa.schema([("video_id", pa.string()), ("tag", pa.string()),
                      ("start", pa.float64()), ("end", pa.float64()),
                      ("duration", pa.float64()), ("frames", pa.int32()),
                      ("mean_score", pa.float64()), ("peak_score", pa.float64()),
                      ("peak_t", pa.float64())])

VIDEO_TAGS = pa.schema([("video_id", pa.string()), ("tag", pa.string()),
                        ("rank", pa.int32()), ("frames", pa.int32()),
                        ("seconds", pa.float64()), ("coverage", pa.float64()),
                        ("mean_score", pa.float64()), ("peak_score", pa.float64()),
                        ("tf", pa.float64()), ("df", pa.int32()), ("idf", pa.float64()),
                        ("tfidf", pa.float64()), ("weight", pa.float64()),
                        ("ubiquitous", pa.bool_())])

SUMMARIES = pa.schema([("video_id", pa.string()), ("frames", pa.int32()),
                       ("blank_frames", pa.int32()), ("top_tags", pa.list_(pa.string())),
                       ("top_coverage", pa.list_(pa.float64())),
                       ("top_scores", pa.list_(pa.float64())), ("about", pa.string())])

MODERATION_TIMELINE = pa.schema([("video_id", pa.string()), ("concept", pa.string()),
                                 ("bin", pa.int32()), ("start", pa.float64()),
                                 ("end", pa.float64()), ("severity", pa.float64())])

MODERATION_SEGMENTS = pa.schema([("video_id", pa.string()), ("concept", pa.string()),
                                 ("start", pa.float64()), ("end", pa.float64()),
                                 ("duration", pa.float64()), ("peak", pa.float64()),
                                 ("peak_t", pa.float64()), ("mean", pa.float64()),
                                 ("frames", pa.int32()), ("level", pa.string()),
                                 ("thumbnail", pa.string())])

VIDEO_RISK = pa.schema([("video_id", pa.string()), ("decision", pa.string()),
                        ("risk", pa.float64()), ("peak_severity", pa.float64()),
                        ("seconds_flagged", pa.float64()), ("segments", pa.int32()),
                        ("evidence", pa.string())])


def safe_name(text: str) -> str:
    """A model or vocabulary id as a folder name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def write_table(table: pa.Table, path: str | Path, schema: pa.Schema | None = None) -> Path:
    """Write Parquet (zstd) atomically: temp file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if schema is not None:
        table = table.select(schema.names).cast(schema)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_rows(rows: list[dict], path: str | Path, schema: pa.Schema) -> Path:
    table = pa.Table.from_pylist(rows, schema=schema)
    return write_table(table, path, schema)


def frames_dir(out: Path, model_id: str, sampling_id: str) -> Path:
    return Path(out) / "frames" / safe_name(model_id) / safe_name(sampling_id)


def tags_dir(out: Path, model_id: str, vocabulary_id: str) -> Path:
    return Path(out) / "tags" / safe_name(model_id) / safe_name(vocabulary_id)


def export_thumbnails(out: Path, frames_folder: Path, wanted: dict[str, list[float]]
                      ) -> dict[tuple[str, float], str]:
    """Write the stored JPEGs of the frames at the given times to out/thumbnails/.

    Returns (video_id, t) -> path relative to `out` (so links survive a moved folder).
    """
    paths: dict[tuple[str, float], str] = {}
    for vid, times in wanted.items():
        src = Path(frames_folder) / f"{vid}.parquet"
        if not src.exists() or not times:
            continue
        table = pq.read_table(src, columns=["t", "frame", "thumbnail"]).to_pydict()
        for t in times:
            i = min(range(len(table["t"])), key=lambda k: abs(table["t"][k] - t))
            rel = Path("thumbnails") / vid / f"{table['frame'][i]:06d}.jpg"
            dest = Path(out) / rel
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(table["thumbnail"][i])
            paths[(vid, t)] = str(rel)
    return paths


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Write a small file (a PNG) via a temporary name and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def video_file_names(out: Path) -> dict[str, str]:
    """video_id -> file name, from the manifest (a file copied twice: the first name)."""
    manifest = Path(out) / "manifest.parquet"
    if not manifest.exists():
        return {}
    import duckdb

    return dict(duckdb.execute(
        "SELECT video_id, min(regexp_extract(path, '[^/]+$')) FROM read_parquet(?) GROUP BY 1",
        [str(manifest)]).fetchall())
