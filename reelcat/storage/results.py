"""Per-video results kept per frames batch, under a key of everything they depend on.

A step that computes something from one video alone (segments, a video's tag statistics,
moderation timelines and decisions) writes one file per frames batch and per table,
`results/<key>/<table>/<batch name>`. The key names the scores, thresholds, answers and
rules the results come from (`reelcat.tagging.scores.results_key`): while it holds, a
nightly run computes only the batches that are new; when it changes, every batch is
computed again under the new key and the old key's files are deleted. Results of a batch
that compaction removed are deleted too. What spans the archive (df, idf, ranks, the
review queue's order) is computed set-wise over these files in SQL.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa

from reelcat.storage.layout import Layout, safe_name
from reelcat.storage.parquet import BatchWriter


class BatchResults:
    def __init__(self, layout: Layout, key: str, tables: dict[str, pa.Schema]):
        self.layout, self.key, self.tables = layout, key, tables

    def done(self, batch: str) -> bool:
        """Every table of this step has its file for the batch."""
        return all((self.layout.results_dir(self.key, t) / batch).exists() for t in self.tables)

    def writers(self, batch: str) -> dict[str, BatchWriter]:
        """One writer per table, each writing exactly the batch's file (atomically)."""
        return {
            table: BatchWriter(
                self.layout.results_dir(self.key, table), schema, row_group=1 << 16, name=batch
            )
            for table, schema in self.tables.items()
        }

    def compute_missing(
        self,
        frames_files: list[Path],
        tags_dir: Path,
        compute: Callable[[Path, Path], Iterator[dict[str, list[dict]]]],
    ) -> int:
        """For each frames batch with tag scores and without results, write this step's
        tables from `compute(frames_file, tags_file)`, which yields rows per table a few
        videos at a time. Returns how many batches were computed."""
        computed = 0
        for f in frames_files:
            if self.done(f.name) or not (tags_dir / f.name).exists():
                continue
            writers = self.writers(f.name)
            try:
                for rows in compute(f, tags_dir / f.name):
                    for table, schema in self.tables.items():
                        writers[table].write(pa.Table.from_pylist(rows[table], schema=schema))
            except BaseException:
                for w in writers.values():
                    w.abort()
                raise
            for w in writers.values():
                w.close()
            computed += 1
        return computed

    def prune(self, batches: set[str]) -> int:
        """Delete this step's files of batches that are gone, and its tables under other
        keys; returns how many files or folders were deleted."""
        removed = 0
        for table in self.tables:
            for path in Layout.batch_files(self.layout.results_dir(self.key, table)):
                if path.name not in batches:
                    path.unlink()
                    removed += 1
        root = self.layout.results_root
        for other in sorted(root.iterdir()) if root.is_dir() else []:
            if other.name == safe_name(self.key):
                continue
            for table in self.tables:
                if (other / table).is_dir():
                    shutil.rmtree(other / table)
                    removed += 1
            if other.is_dir() and not any(other.iterdir()):
                other.rmdir()
        return removed


class SetWiseStamp:
    """Says whether an archive-wide table is current: written under this results key,
    after the manifest last changed. A run where no batch was computed or pruned and the
    stamp holds skips the set-wise work (a night with nothing new costs almost nothing)."""

    def __init__(self, table: Path, key: str):
        self.table, self.key = Path(table), key
        self.path = self.table.with_name(f".{self.table.name}.key")

    def current(self, manifest: Path) -> bool:
        return (
            self.table.exists()
            and self.path.exists()
            and self.path.read_text() == self.key
            and self.path.stat().st_mtime_ns >= manifest.stat().st_mtime_ns
        )

    def write(self) -> None:
        self.path.write_text(self.key)
