"""Atomic writes of Parquet tables and small files, and thumbnails from stored frames.

Files are written to a unique temporary name in the same folder and renamed, so a killed
run never leaves half a file, and a file that exists is complete.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from reelcat.storage.layout import Layout


def _replace_atomically(path: Path, write) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_table(table: pa.Table, path: str | Path, schema: pa.Schema | None = None) -> Path:
    """Write Parquet (zstd) atomically, cast to `schema` when given."""
    if schema is not None:
        table = table.select(schema.names).cast(schema)
    return _replace_atomically(
        Path(path), lambda tmp: pq.write_table(table, tmp, compression="zstd")
    )


def write_rows(rows: list[dict], path: str | Path, schema: pa.Schema) -> Path:
    return write_table(pa.Table.from_pylist(rows, schema=schema), path, schema)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write a small file (a PNG) atomically."""
    return _replace_atomically(Path(path), lambda tmp: Path(tmp).write_bytes(data))


def export_thumbnails(
    layout: Layout, frames_folder: Path, wanted: dict[str, list[float]]
) -> dict[tuple[str, float], str]:
    """Write the stored JPEGs of the frames nearest the given times to thumbnails/.

    Returns (video_id, t) -> path relative to the output folder (links survive a move).
    """
    paths: dict[tuple[str, float], str] = {}
    for vid, times in wanted.items():
        src = Path(frames_folder) / f"{vid}.parquet"
        if not src.exists() or not times:
            continue
        table = pq.read_table(src, columns=["t", "frame", "thumbnail"]).to_pydict()
        for t in times:
            i = min(range(len(table["t"])), key=lambda k: abs(table["t"][k] - t))
            dest = layout.thumbnail(vid, table["frame"][i])
            if not dest.exists():
                write_bytes_atomic(dest, table["thumbnail"][i])
            paths[(vid, t)] = layout.relative(dest)
    return paths
