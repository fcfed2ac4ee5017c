"""An output folder in object storage (`s3://` or `gs://bucket/prefix`), worked on through
a mirror.

reelcat's steps read and write a local folder (Parquet files, the DuckDB catalogue,
pictures), so an output in a bucket has a local mirror on each machine that writes it:
`$REELCAT_MIRROR_DIR/<bucket>/<prefix>`, by default under the machine's reelcat cache
(`outputs/<bucket>/<prefix>`). Before a run, or a command that reads the whole folder,
`pull` brings the mirror up to date; after it, `push` publishes what the run wrote.
Both move only what changed: each side's size and modification time are recorded in the
mirror's `.reelcat-mirror.json` when a file is moved, and compared at the next move, so a
nightly run uploads its new batch files and the archive-wide tables it rewrote, never the
whole store. `reelcat sql` does not pull at all: it downloads the catalogue file only and
DuckDB reads the Parquet files from the bucket (reelcat.storage.readonly).

Atomic: each file is one object, written by one PUT (or a multipart upload the store
shows only once it is complete), so a reader never sees half a file. Data files go up
first and the catalogue file last, then the objects of files the run removed (batches
that compaction merged) are deleted; a reader of the bucket during a push may, for its
length, see a merged batch beside the ones it replaces, never a catalogue naming files
that are not there yet. Downloads are written under a temporary name and renamed.

Two machines writing one bucket prefix at once would each publish their own view: the
Dagster instance's run queue (one run per output tag, the URL) keeps runs apart; the
output folder's lock only orders runs on one machine.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from reelcat.storage import remote
from reelcat.storage.layout import CATALOG, safe_name
from reelcat.storage.parquet import temp_file

STATE = ".reelcat-mirror.json"
TRANSFERS = 8  # objects moved at once (each a GET or PUT; the work is waiting)
LAST = (CATALOG,)  # published after every file it names


def mirror_dir(url: str, cache: Path) -> Path:
    """The local mirror of the output at `url` under `cache` (or $REELCAT_MIRROR_DIR)."""
    bucket, key = remote.bucket_key(url)
    base = os.environ.get("REELCAT_MIRROR_DIR") or cache / "outputs"
    parts = [safe_name(p) for p in [bucket, *key.split("/")] if p]
    return Path(base).joinpath(*parts)


class Mirror:
    """The local folder `local` mirroring the output at `url` (`s3://` or `gs://bucket/prefix`)."""

    def __init__(self, url: str, local: Path):
        self.url, self.local = url.rstrip("/"), Path(local)
        self._state_file = self.local / STATE

    # --- what each side has
    def _state(self) -> dict[str, list[int]]:
        """relative path -> [size, remote mtime ns, local mtime ns] as of the last move."""
        try:
            return json.loads(self._state_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def _save(self, state: dict[str, list[int]]) -> None:
        tmp = temp_file(self.local, f".{STATE}.")
        Path(tmp).write_text(json.dumps(state, separators=(",", ":"), sort_keys=True))
        os.replace(tmp, self._state_file)

    def _remote(self) -> dict[str, remote.ObjectInfo]:
        """The objects under the prefix by relative path ({} for a new prefix)."""
        prefix = self.url + "/"
        return {
            o.path[len(prefix) :]: o
            for o in remote.list_objects(self.url)
            if o.path.startswith(prefix)
        }

    def _local_files(self) -> Iterator[tuple[str, os.stat_result]]:
        """Files a run wrote: hidden names (locks, temporary files, this state) and
        DuckDB's spill folders left out."""
        for folder, dirs, files in os.walk(self.local):
            dirs[:] = [d for d in dirs if not d.startswith(".") and not d.endswith(".tmp")]
            for name in files:
                if name.startswith(".") or name.endswith((".tmp", ".wal")):
                    continue
                path = Path(folder) / name
                yield path.relative_to(self.local).as_posix(), path.stat()

    # --- moves
    def pull(self, only: str = "") -> int:
        """Bring the mirror up to date with the bucket (`only`: the files whose relative
        path starts with it); returns the number of files downloaded. A file the bucket
        no longer has leaves the mirror too, unless it changed here since (then the next
        push uploads it)."""
        self.local.mkdir(parents=True, exist_ok=True)
        state = self._state()
        objects = {rel: o for rel, o in self._remote().items() if rel.startswith(only)}
        wanted = [
            (rel, o)
            for rel, o in objects.items()
            if not self._unchanged(rel, state, [o.size, o.mtime_ns])
        ]
        fs = remote.filesystem(self.url)

        def download(item: tuple[str, remote.ObjectInfo]) -> tuple[str, list[int]]:
            rel, o = item
            path = self.local / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = temp_file(path.parent, f".{path.name}.")
            with fs.open_input_stream(remote.fs_path(o.path)) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            os.replace(tmp, path)
            return rel, [o.size, o.mtime_ns, path.stat().st_mtime_ns]

        with ThreadPoolExecutor(TRANSFERS) as pool:
            state.update(pool.map(download, wanted))
        for rel in [r for r in state if r.startswith(only) and r not in objects]:
            path = self.local / rel
            if path.exists() and path.stat().st_mtime_ns == state[rel][2]:
                path.unlink()
            if not path.exists():
                del state[rel]
        self._save(state)
        return len(wanted)

    def push(self) -> int:
        """Publish what changed in the mirror since it was last moved: new and rewritten
        files (the catalogue last), then delete the objects of files removed here.
        Returns the number of files uploaded."""
        state = self._state()
        files = dict(self._local_files())
        changed = sorted(
            (rel for rel, st in files.items() if _moved(state.get(rel)) != _now(st)),
            key=lambda rel: (rel in LAST, rel),
        )
        fs = remote.filesystem(self.url)

        def upload(rel: str) -> None:
            with (
                open(self.local / rel, "rb") as src,
                fs.open_output_stream(remote.fs_path(f"{self.url}/{rel}")) as dst,
            ):
                shutil.copyfileobj(src, dst, 1 << 20)

        data = [rel for rel in changed if rel not in LAST]
        with ThreadPoolExecutor(TRANSFERS) as pool:
            list(pool.map(upload, data))
        for rel in changed[len(data) :]:
            upload(rel)
        infos = fs.get_file_info([remote.fs_path(f"{self.url}/{rel}") for rel in changed])
        for rel, info in zip(changed, infos, strict=True):
            st = files[rel]
            state[rel] = [int(info.size), int(info.mtime_ns or 0), st.st_mtime_ns]
        gone = [rel for rel in state if rel not in files]
        for rel in gone:
            try:
                fs.delete_file(remote.fs_path(f"{self.url}/{rel}"))
            except FileNotFoundError:
                pass
            del state[rel]
        self._save(state)
        return len(changed)

    def _unchanged(self, rel: str, state: dict[str, list[int]], now: list[int]) -> bool:
        """Whether the mirror's copy of `rel` is the object as it is `now` (size, mtime)."""
        seen = state.get(rel)
        if seen is None or seen[:2] != now:
            return False
        path = self.local / rel
        return path.exists() and path.stat().st_mtime_ns == seen[2]


def _moved(seen: list[int] | None) -> list[int] | None:
    """[size, local mtime ns] of a file when it was last moved."""
    return None if seen is None else [seen[0], seen[2]]


def _now(st: os.stat_result) -> list[int]:
    """[size, local mtime ns] of a file now."""
    return [st.st_size, st.st_mtime_ns]
