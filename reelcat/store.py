"""The Parquet store: every table's pyarrow schema, written down once, and atomic writes.

Layout under the output folder::

    manifest.parquet                                  one row per file (errors too)
    frames/<model>/<sampling>/<video_id>.parquet      per-frame embedding + thumbnail
    tags/<model>/<vocabulary>/<video_id>.parquet      per-frame tag scores, long form
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
