"""Compaction of the frames store: many small batch files (one per nightly increment)
become a few large ones, and the rows of videos that left the archive are dropped.

Small batches (under half a full file) are merged once COMPACT_AT of them exist, into new
batch files written atomically; the merged files are deleted after. Downstream follows by
name: their tag files and per-video results are deleted and the new batches are scored
and summarised (from stored embeddings: nothing is decoded), and the search index stops
returning the merged files' rows. A reader that lists the folder between the new file's
rename and the old files' deletion can see those rows twice, once.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from reelcat.ingest.pipeline import FRAMES_PER_FILE
from reelcat.storage.layout import Layout
from reelcat.storage.parquet import BatchWriter
from reelcat.storage.schemas import FRAMES

COMPACT_AT = 8  # small batch files that trigger a merge
ROWS_PER_READ = 8192


def compact_frames(folder: Path, current_videos: pa.Array | None = None) -> list[Path]:
    """Merge the folder's small batch files; returns the files written (none if the
    folder has fewer than COMPACT_AT small ones)."""
    small = [
        f
        for f in Layout.batch_files(folder)
        if pq.ParquetFile(f).metadata.num_rows < FRAMES_PER_FILE // 2
    ]
    if len(small) < COMPACT_AT:
        return []
    writer = BatchWriter(folder, FRAMES, max_rows=FRAMES_PER_FILE)
    try:
        for f in small:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=ROWS_PER_READ):
                if current_videos is not None:
                    batch = batch.filter(
                        pc.is_in(batch.column("video_id"), value_set=current_videos)
                    )
                if batch.num_rows:
                    writer.write(pa.Table.from_batches([batch]))
    except BaseException:
        writer.abort()
        raise
    written = writer.close()
    for f in small:
        f.unlink()
    return written
