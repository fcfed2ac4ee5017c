"""The archive manifest: every video file under the archive roots, probed with ffprobe.

A file that cannot be read is a row with `status='error'` and a reason; it never stops
the scan. Each file gets a content fingerprint (size plus hashes of a few sampled
blocks), which is its `video_id`: a moved file keeps its id, an unchanged one is never
decoded again.

Incremental: the scan only stats files. A file whose (path, size, mtime, inode) matches
the previous manifest's good row keeps that row, unread; a file with a fingerprint the
previous manifest knew as good (moved or copied) is fingerprinted but not probed; only
new and changed files, and files that failed last time (errors are retried), are probed.

A file no longer found is not forgotten at once: it stays, `status='missing'`, with its
frames, tags and summaries, for `keep_missing_days` (the file was deleted or moved off
the archive), or for as long as its whole root is unavailable (missing, unreadable, or
suddenly empty: an unmounted disk must not empty the catalogue). It becomes `ok` again,
unread, when it comes back unchanged.

A root may be in object storage (`s3://` or `gs://bucket/prefix`, reelcat.storage.remote):
the scan lists its objects (size and Last-Modified; inode 0), the manifest keeps the URL,
the fingerprint reads the same sampled blocks as ranged GETs (so an object has the same
video id as the same file on disk), and ffprobe reads a signed URL made for it.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ffmpeg
import pyarrow as pa
import pyarrow.compute as pc

from reelcat.storage import remote
from reelcat.storage.remote import is_url
from reelcat.tools import ffprobe_path

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"}
)
PROBES_AT_ONCE = max(2, os.cpu_count() or 1)  # ffprobe processes running at once
_SAMPLE_BLOCK = 64 * 1024
_SAMPLES = 8


@dataclass
class VideoRecord:
    video_id: str
    path: str
    size_bytes: int
    status: str  # ok | error | missing
    error: str | None = None
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    codec: str | None = None
    rotation: int = 0
    has_video: bool = False
    start_time: float = 0.0
    mtime_ns: int | None = None
    inode: int | None = None
    missing_since: datetime | None = None

    def to_row(self) -> dict:
        return asdict(self)


def fingerprint(path: str | Path) -> str:
    """Size plus sampled blocks: cheap on a 10 GB file, stable when the file moves. An
    object in object storage: the same blocks, each one ranged GET (never the whole
    object unless it is smaller than the samples), so it has its file's fingerprint."""
    if is_url(path):
        with remote.open_object(path) as fh:
            return _sampled(fh.size(), lambda offset, n: fh.read_at(n, offset))
    path = Path(path)
    with path.open("rb") as fh:

        def read_at(offset: int, n: int) -> bytes:
            fh.seek(offset)
            return fh.read(n)

        return _sampled(os.fstat(fh.fileno()).st_size, read_at)


def _sampled(size: int, read_at) -> str:
    h = hashlib.blake2b(str(size).encode(), digest_size=8)
    if size <= _SAMPLE_BLOCK * _SAMPLES:
        h.update(read_at(0, size))
    else:
        step = (size - _SAMPLE_BLOCK) // (_SAMPLES - 1)
        for i in range(_SAMPLES):
            h.update(read_at(i * step, _SAMPLE_BLOCK))
    return h.hexdigest()


@dataclass(frozen=True)
class FileStat:
    size: int
    mtime_ns: int
    inode: int  # 0 for an object in object storage


def file_stat(path: str | Path) -> FileStat:
    """Size, mtime and inode of a local file or an object (FileNotFoundError if none)."""
    if is_url(path):
        info = remote.stat(path)
        if info is None:
            raise FileNotFoundError(2, "no such object", path)
        return FileStat(info.size, info.mtime_ns, 0)
    st = Path(path).stat()
    return FileStat(st.st_size, st.st_mtime_ns, st.st_ino)


def _as_path(path: str) -> str | Path:
    """A manifest path as the scan returns it: a URL as a string, a local path as Path."""
    return path if is_url(path) else Path(path)


@dataclass(frozen=True)
class RootProblem:
    root: str
    state: str  # missing | unreadable | empty | no longer an archive root


def _is_video(name: str) -> bool:
    return Path(name).suffix.lower() in VIDEO_SUFFIXES and not name.startswith(".")


def scan_roots(roots: list[Path | str]) -> tuple[list[Path | str], list[RootProblem]]:
    """Video files under the roots, sorted, and the roots that could not be scanned or
    held no video file (what that means depends on what they held before). Objects are
    URL strings, local files Paths."""
    files, problems, _ = _scan(roots)
    return files, problems


def _scan(
    roots: list[Path | str],
) -> tuple[list[Path | str], list[RootProblem], dict[str, FileStat]]:
    """scan_roots, and the size and mtime of each object that the listing gave."""
    files: list[Path | str] = []
    problems: list[RootProblem] = []
    listed: dict[str, FileStat] = {}
    for root in roots:
        if is_url(root):
            try:
                objects = remote.list_objects(root)
            except remote.RemoteUnavailable as exc:
                problems.append(RootProblem(root, exc.state))
                continue
            found = [o for o in objects if _is_video(o.path.rsplit("/", 1)[-1])]
            if not found:
                problems.append(RootProblem(root, "empty"))
            for o in found:
                listed[o.path] = FileStat(o.size, o.mtime_ns, 0)
                files.append(o.path)
            continue
        root = Path(root)
        if not root.exists():
            problems.append(RootProblem(str(root), "missing"))
            continue
        if root.is_file():
            files.append(root)
            continue
        if not os.access(root, os.R_OK | os.X_OK):
            problems.append(RootProblem(str(root), "unreadable"))
            continue
        found = [
            Path(dirpath) / name
            for dirpath, _dirs, names in os.walk(root)
            for name in names
            if _is_video(name)
        ]
        if not found:
            problems.append(RootProblem(str(root), "empty"))
        files += found
    return sorted(set(files), key=str), problems, listed


def _rotation(stream: dict) -> int:
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            return int(round(float(side["rotation"]))) % 360
    rotate = (stream.get("tags") or {}).get("rotate")
    return int(rotate) % 360 if rotate else 0


def _fps(stream: dict) -> float | None:
    for key in ("avg_frame_rate", "r_frame_rate"):
        num, _, den = str(stream.get(key, "0/0")).partition("/")
        try:
            if float(den or 1) > 0 and float(num) > 0:
                return float(num) / float(den or 1)
        except ValueError:
            continue
    return None


def probe_video(path: str | Path) -> VideoRecord:
    """ffprobe one file (an object: through a signed URL made now); never raises for a
    bad file, returns an error row instead."""
    path = _as_path(str(path))
    st = file_stat(path)
    size = st.size
    video_id = fingerprint(path)
    row = VideoRecord(
        video_id=video_id,
        path=str(path),
        size_bytes=size,
        status="error",
        mtime_ns=st.mtime_ns,
        inode=st.inode,
    )
    if size == 0:
        row.error = "empty file (0 bytes)"
        return row
    source = remote.readable(str(path))
    try:
        info = ffmpeg.probe(source, cmd=ffprobe_path())
    except ffmpeg.Error as exc:
        lines = (exc.stderr or b"").decode(errors="replace").strip().splitlines()
        said = remote.redact(lines[-1], source, str(path)) if lines else "unknown error"
        row.error = f"ffprobe could not read the file: {said}"
        return row
    video = next((s for s in info.get("streams", []) if s.get("codec_type") == "video"), None)
    fmt = info.get("format", {})
    duration = fmt.get("duration") or (video or {}).get("duration")
    if video is None:
        row.error = "no video stream"
        return row
    if not duration or float(duration) <= 0:
        row.error = "no duration: the file is truncated or not a video"
        return row
    rotation = _rotation(video)
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if rotation in (90, 270):
        width, height = height, width
    row.status = "ok"
    row.duration = float(duration)
    row.width, row.height = width, height
    row.fps = _fps(video)
    row.codec = video.get("codec_name")
    row.rotation = rotation
    row.has_video = True
    row.start_time = float(fmt.get("start_time") or 0.0)
    return row


@dataclass
class ManifestUpdate:
    table: pa.Table  # the new manifest (MANIFEST schema): files found, and kept missing
    probed: list[str] = field(default_factory=list)  # paths ffprobe read this time
    moved: list[str] = field(default_factory=list)  # known content at a new path
    unchanged: int = 0  # rows kept without reading the file
    missing: list[str] = field(default_factory=list)  # paths kept as 'missing'
    expired: list[str] = field(default_factory=list)  # missing too long: dropped now
    # roots that held catalogued videos and now cannot be scanned or are empty
    unavailable: dict[RootProblem, int] = field(default_factory=dict)  # -> videos held
    problems: list[RootProblem] = field(default_factory=list)  # every root not scanned


def build_manifest(
    roots: list[Path | str],
    previous: pa.Table | None = None,
    schema: pa.Schema | None = None,
    *,
    keep_missing_days: float = 30.0,
    now: datetime | None = None,
) -> ManifestUpdate:
    """The manifest of the files under `roots`, reusing `previous` rows where it can, and
    keeping the files no longer found as 'missing' (see the module docstring)."""
    paths, problems, listed = _scan(roots)
    stats = {str(p): listed.get(str(p)) or file_stat(p) for p in paths}
    listing = pa.table(
        {
            "path": pa.array(list(stats), pa.string()),
            "size_bytes": pa.array([s.size for s in stats.values()], pa.int64()),
            "mtime_ns": pa.array([s.mtime_ns for s in stats.values()], pa.int64()),
            "inode": pa.array([s.inode for s in stats.values()], pa.int64()),
        }
    )
    kept = None
    known: dict[str, dict] = {}
    if previous is not None and previous.num_rows:
        good = previous.filter(pc.is_in(previous["status"], pa.array(["ok", "missing"])))
        key = ["path", "size_bytes", "mtime_ns", "inode"]
        kept = _found_again(
            good.join(listing, keys=key, join_type="inner").select(previous.column_names)
        )
        new = listing.join(kept.select(["path"]), keys="path", join_type="left anti")
        todo = [_as_path(p) for p in sorted(new["path"].to_pylist())]
        if todo:  # fingerprints the previous manifest knew as good, for moved files
            prints = {p: fingerprint(p) for p in todo}
            seen_rows = good.filter(pc.is_in(good["video_id"], pa.array(list(prints.values()))))
            known = {r["video_id"]: r for r in seen_rows.to_pylist()}
    else:
        todo = paths
    update = ManifestUpdate(table=pa.table({}), problems=problems)
    rows = []
    for p in todo:
        if known:
            st = stats[str(p)]
            seen = known.get(prints[p])
            if seen is not None:
                rows.append(
                    {
                        **seen,
                        "status": "ok",
                        "error": None,
                        "missing_since": None,
                        "path": str(p),
                        "size_bytes": st.size,
                        "mtime_ns": st.mtime_ns,
                        "inode": st.inode,
                    }
                )
                update.moved.append(str(p))
                continue
        update.probed.append(str(p))
    with ThreadPoolExecutor(max_workers=PROBES_AT_ONCE) as pool:  # ffprobe: subprocesses
        rows += [r.to_row() for r in pool.map(probe_video, map(_as_path, update.probed))]
    schema = schema or (previous.schema if previous is not None else None)
    fresh = (
        pa.Table.from_pylist(rows, schema=schema)
        if schema is not None
        else pa.Table.from_pylist(rows)
    )
    parts = [fresh] + ([kept.cast(fresh.schema)] if kept is not None and kept.num_rows else [])
    table = pa.concat_tables(parts)
    if previous is not None and previous.num_rows:
        gone = _still_missing(previous, table, roots, problems, update, keep_missing_days, now)
        table = pa.concat_tables([table, gone.cast(table.schema)])
    update.table = table.sort_by("path")
    update.unchanged = kept.num_rows if kept is not None else 0
    return update


def _found_again(rows: pa.Table) -> pa.Table:
    """Rows found unchanged at their path: 'ok', whatever they were last time."""
    n = rows.num_rows
    rows = rows.set_column(
        rows.schema.get_field_index("status"), "status", pa.array(["ok"] * n, pa.string())
    )
    for name in ("error", "missing_since"):
        i = rows.schema.get_field_index(name)
        rows = rows.set_column(i, name, pa.nulls(n, rows.schema.field(name).type))
    return rows


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _still_missing(
    previous: pa.Table,
    found: pa.Table,
    roots: list[Path | str],
    problems: list[RootProblem],
    update: ManifestUpdate,
    keep_days: float,
    now: datetime | None,
) -> pa.Table:
    """The previous catalogued rows whose file (by path, and by content for a moved one)
    is not found now: kept as 'missing' with the reason, unless missing longer than
    `keep_days` from a root that is still there."""
    now = now or datetime.now(UTC)
    known = previous.filter(pc.is_in(previous["status"], pa.array(["ok", "missing"])))
    gone = known.filter(
        pc.invert(
            pc.or_(
                pc.is_in(known["path"], found["path"]),
                pc.is_in(known["video_id"], found["video_id"]),
            )
        )
    )
    rows = []
    for r in gone.to_pylist():  # the files gone since the last run: few (or one root's)
        problem = next((p for p in problems if _under(r["path"], p.root)), None)
        if problem is None and not any(_under(r["path"], str(root)) for root in roots):
            problem = RootProblem(remote.parent(r["path"]), "no longer an archive root")
        since = r["missing_since"] or now
        if problem is not None:
            update.unavailable[problem] = update.unavailable.get(problem, 0) + 1
            reason = f"its archive root {problem.root} is {problem.state}"
        elif now - since > timedelta(days=keep_days):
            update.expired.append(r["path"])
            continue
        else:
            reason = "the file is no longer under its archive root"
        rows.append({**r, "status": "missing", "error": reason, "missing_since": since})
        update.missing.append(r["path"])
    return pa.Table.from_pylist(rows, schema=previous.schema)
