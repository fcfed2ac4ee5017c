"""Atomic writes of Parquet tables and small files, and thumbnails from stored frames.

Files are written to a unique temporary name in the same folder and renamed, so a killed
run never leaves half a file, a file that exists is complete, and two writers never share
a temporary name. Files get the process umask's permissions (0644 by default), like any
file a program creates, not mkstemp's private 0600.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from reelcat.storage.space import OutOfSpace, is_out_of_space


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_file(folder: Path, prefix: str, suffix: str = ".tmp") -> Path:
    """A new, empty file with a name unique to its writer in `folder`, readable as the
    umask allows (rename it over the real name when complete)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    os.fchmod(fd, 0o666 & ~_umask())
    os.close(fd)
    return Path(tmp)


def _replace_atomically(path: Path, write) -> Path:
    path = Path(path)
    tmp = temp_file(path.parent, f".{path.name}.")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        written = Path(tmp).stat().st_size if Path(tmp).exists() else 0
        Path(tmp).unlink(missing_ok=True)
        if is_out_of_space(exc):
            raise OutOfSpace(path.parent, written, path.name) from None
        raise
    return path


def write_table(
    table: pa.Table,
    path: str | Path,
    schema: pa.Schema | None = None,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write Parquet (zstd) atomically, cast to `schema` when given, with `metadata` in
    the file's key-value metadata."""
    if schema is not None:
        table = table.select(schema.names).cast(schema)
    if metadata:
        table = table.replace_schema_metadata(metadata)
    return _replace_atomically(
        Path(path), lambda tmp: pq.write_table(table, tmp, compression="zstd")
    )


def write_rows(
    rows: list[dict], path: str | Path, schema: pa.Schema, metadata: dict[str, str] | None = None
) -> Path:
    return write_table(pa.Table.from_pylist(rows, schema=schema), path, schema, metadata)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write a small file (a PNG) atomically."""
    return _replace_atomically(Path(path), lambda tmp: Path(tmp).write_bytes(data))


class BatchWriter:
    """Appends tables to large Parquet files in one folder (a store that holds a million
    videos keeps a few files per ingest batch, not one per video): rows are buffered into
    row groups of about `row_group` rows, and a new file is started every `max_rows`.
    Each file is written under a temporary name and renamed when it is complete, so a
    crash leaves no half file (the rows of an unfinished file are written again by the
    next run)."""

    def __init__(
        self,
        folder: Path,
        schema: pa.Schema,
        *,
        row_group: int = 4096,
        max_rows: int = 65536,
        name: str | None = None,
    ):
        self.folder, self.schema = Path(folder), schema
        self.row_group, self.max_rows = row_group, max_rows
        self.name = name  # a fixed file name (one output file), else a new batch name
        self.written: list[Path] = []
        self._buffer: list[pa.Table] = []
        self._buffered = 0
        self._writer: pq.ParquetWriter | None = None
        self._tmp: str | None = None
        self._rows_in_file = 0

    def write(self, table: pa.Table) -> None:
        self._buffer.append(table.select(self.schema.names).cast(self.schema))
        self._buffered += table.num_rows
        if self._buffered >= self.row_group:
            self._flush()

    def _flush(self) -> None:
        if not self._buffered:
            return
        if self._writer is None:
            self._tmp = temp_file(self.folder, ".batch.")
            self._writer = pq.ParquetWriter(self._tmp, self.schema, compression="zstd")
        self._writer.write_table(pa.concat_tables(self._buffer), row_group_size=self._buffered)
        self._rows_in_file += self._buffered
        self._buffer, self._buffered = [], 0
        if self._rows_in_file >= self.max_rows and self.name is None:
            self._finish_file()

    def _finish_file(self) -> None:
        if self._writer is None:
            return
        self._writer.close()
        path = self.folder / (self.name or batch_name())
        os.replace(self._tmp, path)
        self.written.append(path)
        self._writer, self._tmp, self._rows_in_file = None, None, 0

    def close(self) -> list[Path]:
        """Finish the last file; returns every file written. A writer of one named file
        writes it even when no row came (an empty result is a result)."""
        self._flush()
        self._finish_file()
        if self.name is not None and not self.written:
            self.written.append(write_table(self.schema.empty_table(), self.folder / self.name))
        return self.written

    def abort(self) -> None:
        """Drop the unfinished file (the finished ones stay)."""
        if self._writer is not None:
            self._writer.close()
            Path(self._tmp).unlink(missing_ok=True)
            self._writer = None
        self._buffer, self._buffered = [], 0


def batch_name() -> str:
    """A new batch file's name: sorts by time, unique across processes."""
    return f"batch-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}.parquet"


def write_relation(relation, path: str | Path, schema: pa.Schema) -> Path:
    """A DuckDB query's result streamed to one Parquet file (atomically), a record batch
    at a time: an archive-wide table never sits in memory whole."""
    path = Path(path)
    writer = BatchWriter(path.parent, schema, row_group=1 << 17, name=path.name)
    try:
        for batch in relation.to_arrow_reader(1 << 16):
            writer.write(pa.Table.from_batches([batch]))
    except BaseException:
        writer.abort()
        raise
    writer.close()
    return path
