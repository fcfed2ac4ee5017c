"""What a person looks at to answer a question: the frame at full resolution and a short
clip around it, cut from the archive file with ffmpeg when first asked for.

The stored thumbnails are small (160 px wide) and a single frame hides motion, so the
review page and `reelcat review` show the archive's own pixels instead. Each frame or
clip is made once and kept under the output folder (`Layout.question_media`); a video id
is a fingerprint of the file's content, so a kept file never goes stale. A missing or
unreadable archive file is a MediaError saying so; callers fall back to the thumbnail.
An archive file in object storage (`s3://…`, `gs://…`) is read through a signed URL made for
each ffmpeg run (reelcat.storage.remote).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path

import duckdb
import ffmpeg

from reelcat.storage import remote
from reelcat.storage.layout import Layout
from reelcat.storage.parquet import temp_file
from reelcat.tools import ffmpeg_path

CLIP_SECONDS = 4.0  # the clip runs from t - 2 s to t + 2 s (less at the video's ends)
CLIP_MAX_SIDE = 1280  # clips of larger videos are scaled down to this; frames never are
TIMEOUT = 120  # seconds one ffmpeg run may take


class MediaError(Exception):
    """A frame or clip that cannot be cut from the archive; the message says why."""


@cache
def clip_format() -> str:
    """'mp4' (H.264) when this ffmpeg has libx264, otherwise 'webm' (VP9)."""
    encoders = subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=60
    ).stdout
    return "mp4" if " libx264 " in encoders else "webm"


def archive_file(con: duckdb.DuckDBPyConnection, video_id: str) -> dict:
    """The manifest row (path, duration, width, height) of a readable file of the video."""
    rows = con.execute(
        "SELECT path, duration, width, height FROM manifest "
        "WHERE video_id = ? AND status = 'ok' ORDER BY path",
        [video_id],
    ).fetchall()
    if not rows:
        raise MediaError(f"no catalogued file of video {video_id!r}")
    for path, duration, width, height in rows:
        if _readable(path):
            return {"path": path, "duration": duration, "width": width, "height": height}
    raise MediaError(f"the archive file {rows[0][0]} is missing or unreadable")


def _readable(path: str) -> bool:
    if remote.is_url(path):
        try:
            return remote.stat(path) is not None
        except (OSError, ValueError):
            return False
    return os.path.isfile(path) and os.access(path, os.R_OK)


def frame(layout: Layout, source: dict, video_id: str, t: float) -> Path:
    """The archive's frame at `t` as a full-resolution JPEG (made now, or kept before)."""
    dest = layout.question_media(video_id, t, "jpg")
    if not dest.exists():
        video = ffmpeg.input(remote.readable(source["path"]), ss=max(0.0, t)).video
        _make(dest, lambda tmp: video.output(tmp, vframes=1, **{"q:v": 2}))
    return dest


def clip(layout: Layout, source: dict, video_id: str, t: float) -> Path:
    """A silent clip of about CLIP_SECONDS around `t` (H.264 mp4, or VP9 webm)."""
    ext = clip_format()
    dest = layout.question_media(video_id, t, ext)
    if dest.exists():
        return dest
    start = max(0.0, t - CLIP_SECONDS / 2)
    if source.get("duration"):
        start = max(0.0, min(start, source["duration"] - CLIP_SECONDS))
    video = ffmpeg.input(remote.readable(source["path"]), ss=start, t=CLIP_SECONDS).video
    if max(source.get("width") or 0, source.get("height") or 0) > CLIP_MAX_SIDE:
        side = CLIP_MAX_SIDE
        video = video.filter(
            "scale", side, side, force_original_aspect_ratio="decrease", force_divisible_by=2
        )
    else:  # the encoders want even sides
        video = video.filter("scale", "trunc(iw/2)*2", "trunc(ih/2)*2")
    codec = (
        {"vcodec": "libx264", "preset": "veryfast", "crf": 23, "movflags": "+faststart"}
        if ext == "mp4"
        else {"vcodec": "libvpx-vp9", "deadline": "realtime", "cpu-used": 8, "b:v": "1M"}
    )
    _make(dest, lambda tmp: video.output(tmp, pix_fmt="yuv420p", **codec))
    return dest


def _make(dest: Path, output: Callable[[str], ffmpeg.nodes.OutputStream]) -> None:
    """Run ffmpeg's `output(tmp)` into a temporary file beside `dest`, then rename it into
    place (a file that exists is whole); MediaError when ffmpeg fails or writes nothing."""
    tmp = str(temp_file(dest.parent, f".{dest.stem}.", dest.suffix))
    cmd = (
        output(tmp)
        .global_args("-hide_banner", "-nostdin", "-loglevel", "error")
        .overwrite_output()
        .compile(cmd=ffmpeg_path())
    )
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
        if proc.returncode != 0 or not os.path.getsize(tmp):
            lines = proc.stderr.strip().splitlines()
            raise MediaError(
                f"ffmpeg could not cut {dest.suffix[1:]} at that time: "
                + (remote.redact(lines[-1]) if lines else "it wrote nothing")
            )
        os.replace(tmp, dest)
    except subprocess.TimeoutExpired:
        raise MediaError(f"ffmpeg took over {TIMEOUT} s") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
