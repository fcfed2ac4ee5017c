"""A catalogued video as a browser plays it (GET /play/<video_id>): the archive file's own
bytes when browsers play its container and codec, otherwise a low-resolution copy (the
proxy) that ffmpeg makes when first asked for; either served a byte range at a time.

Which files play as they are is decided from the manifest: the file's suffix and the
codec ffprobe found (`DIRECT`: H.264, VP9 and AV1 in MP4, H.264 in QuickTime, VP8, VP9
and AV1 in WebM). Anything else (MPEG-4 part 2 in .avi or .mkv, HEVC, ProRes, any
Matroska file, which not every browser opens) is played through its proxy: H.264 and AAC
in MP4 with the index up front (+faststart), no side over PROXY_SIDE pixels; VP9 and
Opus in WebM where ffmpeg lacks libx264, as the questions' clips are
(reelcat.feedback.question_media). The proxy is kept under the output folder
(`Layout.proxy`); a video id is a fingerprint of the file's content, so a kept proxy
never goes stale. One ffmpeg at a time makes a video's proxy: a request that comes while
it runs waits for it, then serves what it made.

An archive file in object storage (`s3://…`, `gs://…`) is read by the server (ranged GETs,
reelcat.storage.remote), not handed to the browser as a redirect to a signed URL:
the pages' Content-Security-Policy keeps `media-src 'self'`, no signed URL reaches the
browser or its history, and the reviewer's browser need not reach the object store.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import ffmpeg

from reelcat.feedback.question_media import MediaError, clip_format
from reelcat.storage import remote
from reelcat.storage.layout import Layout
from reelcat.storage.parquet import temp_file
from reelcat.tools import ffmpeg_path

_MP4 = ("video/mp4", frozenset({"h264", "vp9", "av1"}))
DIRECT = {  # suffix -> (the type it is served as, the codecs browsers play in it)
    ".mp4": _MP4,
    ".m4v": _MP4,
    ".mov": ("video/mp4", frozenset({"h264"})),
    ".webm": ("video/webm", frozenset({"vp8", "vp9", "av1"})),
}
PROXY_SIDE = 640  # the proxy's longer side at most, in pixels (never scaled up)
ENCODERS = {  # the proxy's codecs, by the format question_media.clip_format picks
    "mp4": {
        "vcodec": "libx264",
        "preset": "veryfast",
        "crf": 26,
        "movflags": "+faststart",
        "acodec": "aac",
        "b:a": "96k",
    },
    "webm": {
        "vcodec": "libvpx-vp9",
        "deadline": "realtime",
        "cpu-used": 8,
        "b:v": "600k",
        "acodec": "libopus",
        "b:a": "64k",
    },
}
TIMEOUT = 120  # seconds, plus the video's own length, that making one proxy may take
CHUNK = 1 << 20  # bytes read and sent at a time
_RANGE = re.compile(r"bytes=(\d*)-(\d*)", re.ASCII | re.IGNORECASE)

# video id -> held while its proxy is made (one per video asked for, while the server runs)
_making: dict[str, threading.Lock] = {}
_making_guard = threading.Lock()


@dataclass(frozen=True)
class Media:
    """What /play/<video_id> sends: where its bytes are, their type, their validator."""

    location: str  # a local file, or an s3:// or gs:// URL
    ctype: str
    etag: str


class Unsatisfiable(ValueError):
    """A Range header none of whose bytes the file has (answered 416)."""


def suffix(path: str) -> str:
    return os.path.splitext(path)[1].lower()


def browser_plays(path: str, codec: str | None) -> bool:
    """Whether browsers play the archive file itself (its suffix and ffprobe's codec)."""
    return suffix(path) in DIRECT and codec in DIRECT[suffix(path)][1]


def media(layout: Layout, source: dict, video_id: str) -> Media:
    """What to send for `source` (question_media.archive_file's row plus its `codec`):
    the archive file when browsers play it, otherwise its proxy, made now when it was
    never made before (MediaError when ffmpeg cannot make it)."""
    path = source["path"]
    if browser_plays(path, source.get("codec")):
        return Media(path, DIRECT[suffix(path)][0], f'"{video_id}"')
    made = proxy(layout, source, video_id)
    return Media(str(made), f"video/{made.suffix[1:]}", f'"{video_id}-proxy"')


def proxy(layout: Layout, source: dict, video_id: str) -> Path:
    """The video's proxy: kept from before, or made now by one ffmpeg (a request that
    comes meanwhile waits for it)."""
    dest = layout.proxy(video_id, clip_format())
    if dest.exists():
        return dest
    with _making_guard:
        lock = _making.setdefault(video_id, threading.Lock())
    with lock:
        if not dest.exists():
            _encode(source, dest)
    return dest


def _encode(source: dict, dest: Path) -> None:
    """ffmpeg: the whole file, its first video and audio streams, scaled down to fit
    PROXY_SIDE, into a temporary file beside `dest`, renamed into place when whole."""
    readable = remote.readable(source["path"])
    scale = (
        f"scale=w='min({PROXY_SIDE},iw)':h='min({PROXY_SIDE},ih)'"
        ":force_original_aspect_ratio=decrease:force_divisible_by=2"
    )
    encoder = ENCODERS[dest.suffix[1:]]
    tmp = temp_file(dest.parent, f".{dest.stem}.", dest.suffix)
    cmd = (
        ffmpeg.input(readable)
        .output(str(tmp), vf=scale, pix_fmt="yuv420p", sn=None, dn=None, **encoder)
        .global_args("-hide_banner", "-nostdin", "-loglevel", "error")
        .overwrite_output()
        .compile(cmd=ffmpeg_path())
    )
    timeout = TIMEOUT + (source.get("duration") or 0.0)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0 or not tmp.stat().st_size:
            lines = proc.stderr.strip().splitlines()
            said = remote.redact(lines[-1], readable, source["path"]) if lines else "no output"
            raise MediaError(f"ffmpeg could not make a copy the browser plays: {said}")
        os.replace(tmp, dest)
    except subprocess.TimeoutExpired:
        raise MediaError(f"ffmpeg took over {timeout:.0f} s to make a playable copy") from None
    finally:
        tmp.unlink(missing_ok=True)


# ----------------------------------------------------------------------------- bytes


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The first and last byte (inclusive) a Range header asks of a `size`-byte file; None
    to send it whole: no header, or one that RFC 9110 lets a server ignore (several
    ranges, another unit, bad syntax). Unsatisfiable when none of its bytes exist."""
    m = _RANGE.fullmatch((header or "").strip())
    if m is None or not (m[1] or m[2]):
        return None
    if not m[1]:  # "-n": the last n bytes
        if int(m[2]) == 0 or size == 0:
            raise Unsatisfiable(header)
        return max(0, size - int(m[2])), size - 1
    first = int(m[1])
    if m[2] and int(m[2]) < first:
        return None
    if first >= size:
        raise Unsatisfiable(header)
    return first, min(int(m[2]), size - 1) if m[2] else size - 1


@contextmanager
def opened(location: str) -> Iterator[tuple[BinaryIO, int]]:
    """The file at `location` (a local path, or an s3:// or gs:// object read by ranged GETs),
    open for reading, and its size."""
    if remote.is_url(location):
        with remote.open_object(location) as fh:
            yield fh, fh.size()
    else:
        with open(location, "rb") as fh:
            yield fh, os.fstat(fh.fileno()).st_size


def send(fh: BinaryIO, out: BinaryIO, first: int, last: int) -> None:
    """Copy bytes `first` to `last` (inclusive) of `fh` to `out`, CHUNK at a time."""
    fh.seek(first)
    left = last - first + 1
    while left > 0:
        chunk = fh.read(min(CHUNK, left))
        if not chunk:
            raise OSError(f"the file ended {left} bytes early")
        out.write(chunk)
        left -= len(chunk)
