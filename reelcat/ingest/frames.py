"""Frame sampling with ffmpeg: model-sized RGB pixels through a pipe, real timestamps.

One ffmpeg process per chunk of a video. Its filter graph selects the sampled frames,
logs their presentation timestamps (showinfo), then splits: one branch is scaled on the
shortest side and centre-cropped to the model's input size (as open_clip's own
preprocess does) and streamed as raw RGB to stdout; the other becomes small JPEG
thumbnails for people. No full-size frame ever leaves ffmpeg.

Sampling modes:
- interval: the first frame of every `interval_seconds` bin (full decode).
- keyframes: only keyframes are decoded (`-skip_frame nokey`), the first in every bin;
  several times faster on long-GOP video, since nothing between keyframes is decoded.
- scene: frames whose scene-change score passes a threshold, at least one per 4 bins.
- auto (default): keyframes, falling back to interval for a chunk whose keyframes are
  too sparse: fewer than three quarters of the interval bins that the chunk's part of
  the video covers hold a keyframe (so keyframes every 2 s serve a 2 s interval, and
  a full decode serves a 1 s one).
"""

from __future__ import annotations

import math
import re
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
import numpy as np

from reelcat.tools import ffmpeg_path

_SHOWINFO = re.compile(r"\bn:\s*(\d+)\s+pts:\s*-?\d+\s+pts_time:(-?[\d.]+)")


class DecodeError(RuntimeError):
    """ffmpeg could not decode a file; the message says why."""


@dataclass(frozen=True)
class Chunk:
    """A bounded piece of one video: [start, start + duration) seconds.

    `span` is how much of that the video really covers (the last chunk of a video ends
    with the video); None when unknown, then taken as `duration`.
    """

    video_id: str
    path: str
    start: float
    duration: float
    index: int
    span: float | None = None


@dataclass
class DecodedFrames:
    """Sampled frames of one chunk: timestamps (s), pixels (n, S, S, 3) uint8, JPEGs."""

    times: np.ndarray
    pixels: np.ndarray
    thumbnails: list[bytes]


def plan_chunks(
    video_id: str, path: str, duration: float, chunk_seconds: float, interval_seconds: float
) -> list[Chunk]:
    """Cut a video into chunks whose boundaries fall on sampling-bin edges."""
    step = max(interval_seconds, math.floor(chunk_seconds / interval_seconds) * interval_seconds)
    n = max(1, math.ceil(duration / step))
    return [
        Chunk(
            video_id,
            path,
            i * step,
            step,
            i,
            span=max(0.0, min(step, duration - i * step)) if duration > 0 else None,
        )
        for i in range(n)
    ]


# auto: keyframes serve when at least this share of the interval bins hold one
KEYFRAME_COVERAGE = 0.75


def _select_expr(mode: str, start: float, interval: float, scene_threshold: float) -> str:
    bins = f"floor((t+{start})/{interval})"
    prev_bins = f"floor((prev_selected_t+{start})/{interval})"
    first = "isnan(prev_selected_t)"
    if mode == "scene":
        return f"{first}+gt(scene,{scene_threshold})+gte(t-prev_selected_t,{interval * 4})"
    return f"{first}+gt({bins},{prev_bins})"


def decode_chunk(
    chunk: Chunk,
    *,
    mode: str,
    interval_seconds: float,
    size: int,
    thumbnail_width: int = 160,
    scene_threshold: float = 0.3,
    threads: int = 1,
) -> DecodedFrames:
    """Decode one chunk in the given mode ('auto' tries keyframes first)."""
    if mode == "auto":
        frames = decode_chunk(
            chunk,
            mode="keyframes",
            interval_seconds=interval_seconds,
            size=size,
            thumbnail_width=thumbnail_width,
            threads=threads,
        )
        # One frame per bin at most; the bins are those of the part of the video the chunk
        # covers (not the chunk's nominal length, which can run past the video's end).
        span = chunk.duration if chunk.span is None else min(chunk.span, chunk.duration)
        bins = max(1, math.ceil(span / interval_seconds - 1e-9))
        if len(frames.times) >= KEYFRAME_COVERAGE * bins:
            return frames
        mode = "interval"
    input_opts: dict = {"threads": threads}
    if chunk.start > 0:
        input_opts["ss"] = chunk.start
    input_opts["t"] = chunk.duration
    if mode == "keyframes":
        input_opts["skip_frame"] = "nokey"
    stream = ffmpeg.input(chunk.path, **input_opts).video
    stream = stream.filter(
        "select", _select_expr(mode, chunk.start, interval_seconds, scene_threshold)
    )
    stream = stream.filter("showinfo")
    split = stream.split()
    # Shortest side to `size` with bicubic, then centre crop: open_clip's transform.
    model_branch = (
        split[0]
        .filter("scale", f"if(gt(iw,ih),-2,{size})", f"if(gt(iw,ih),{size},-2)", flags="bicubic")
        .filter("crop", size, size)
    )
    thumb_branch = split[1].filter("scale", thumbnail_width, -2)
    with tempfile.TemporaryDirectory(prefix="reelcat-thumbs-") as tmp:
        thumb_pattern = str(Path(tmp) / "%06d.jpg")
        cmd = (
            ffmpeg.merge_outputs(
                ffmpeg.output(
                    model_branch,
                    "pipe:1",
                    format="rawvideo",
                    pix_fmt="rgb24",
                    fps_mode="passthrough",
                ),
                ffmpeg.output(thumb_branch, thumb_pattern, fps_mode="passthrough", **{"q:v": 5}),
            )
            .global_args("-hide_banner", "-nostdin", "-loglevel", "info")
            .compile(cmd=ffmpeg_path())
        )
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        stderr_chunks: list[bytes] = []
        reader = threading.Thread(target=lambda: stderr_chunks.append(proc.stderr.read()))
        reader.start()
        raw = proc.stdout.read()
        proc.wait()
        reader.join()
        log = b"".join(stderr_chunks).decode(errors="replace")
        frame_bytes = size * size * 3
        n = len(raw) // frame_bytes
        if proc.returncode != 0 and n == 0:
            tail = [ln for ln in log.strip().splitlines() if not ln.startswith("[Parsed_")]
            raise DecodeError(f"ffmpeg failed on {chunk.path}: {tail[-1] if tail else 'no output'}")
        times = [float(m.group(2)) for m in _SHOWINFO.finditer(log)]
        n = min(n, len(times))
        pixels = np.frombuffer(raw, dtype=np.uint8, count=n * frame_bytes).reshape(n, size, size, 3)
        thumbs = sorted(Path(tmp).glob("*.jpg"))[:n]
        thumbnails = [p.read_bytes() for p in thumbs]
    offset = chunk.start
    return DecodedFrames(
        times=np.asarray(times[:n], dtype=np.float64) + offset,
        pixels=pixels.copy(),  # writable, and frees ffmpeg's output buffer
        thumbnails=thumbnails + [b""] * (n - len(thumbnails)),
    )
