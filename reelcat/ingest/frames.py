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

Damage: ffmpeg logs at `-loglevel repeat+level+info`, so each line says its level.
Every error the libraries log while reading the file (demuxer, parser, decoder:
`[h264 @ 0x…] [error] …`) is a decode error; a chunk that still gave frames returns
them with the count and the first error, so a damaged file is catalogued from the
frames that decoded and marked damaged, not failed. A chunk that seeks to its start
first decodes from the keyframe before it; that pre-roll's errors count only where they
matter (see `decode_errors`), so a healthy open-GOP file is not marked damaged. The
frames keep their real presentation timestamps: where damage swallowed the start of a
sampling bin, the bin's frame is the first one that decoded (4.64 s in the 4 s bin),
never a guess.
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

from reelcat.storage import remote
from reelcat.tools import ffmpeg_path

_SHOWINFO = re.compile(r"\bn:\s*(\d+)\s+pts:\s*-?\d+\s+pts_time:(-?[\d.]+)")
# One line of ffmpeg's log with `level` in -loglevel: the contexts that logged it
# ("[h264 @ 0x55…] ", none for ffmpeg's own lines), "[error] ", the message.
_LOG_LINE = re.compile(
    r"^(?P<contexts>(?:\[[^\[\]]+ @ 0x[0-9a-fA-F]+\] )*)"
    r"\[(?P<level>panic|fatal|error|warning|info|verbose|debug|trace)\] ?(?P<message>.*)$"
)
_DURATION = re.compile(r"\bduration_time:([\d.]+)")
_CONTEXT = re.compile(r"\[([^\[\]]+?) @ 0x[0-9a-fA-F]+\]")
_ERROR_LEVELS = ("error", "fatal", "panic")
# Contexts of reelcat's own filter graph: their errors are not the file's damage.
_OWN_CONTEXTS = ("Parsed_", "AVFilterGraph", "graph")


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
    """Sampled frames of one chunk: timestamps (s), pixels (n, S, S, 3) uint8, JPEGs;
    and the decode errors ffmpeg logged on the way (a damaged file), with the first."""

    times: np.ndarray
    pixels: np.ndarray
    thumbnails: list[bytes]
    decode_errors: int = 0
    first_decode_error: str | None = None


@dataclass(frozen=True)
class LogLine:
    """A line of ffmpeg's log: level, the first context that logged it ('' for ffmpeg's
    own lines; 'NULL' is a parser), the message."""

    level: str
    context: str
    message: str

    @property
    def text(self) -> str:
        """The line as people read it: 'h264: error while decoding MB 8 0'."""
        named = self.context and self.context != "NULL"
        return f"{self.context}: {self.message}" if named else self.message


def parse_log(log: str) -> list[LogLine]:
    """ffmpeg's stderr at `-loglevel level+…`, one LogLine per line (a line without a
    level tag, a continuation, is kept at level 'info')."""
    lines = []
    for raw in log.splitlines():
        m = _LOG_LINE.match(raw.strip())
        if m is None:
            if raw.strip():
                lines.append(LogLine("info", "", raw.strip()))
            continue
        contexts = _CONTEXT.findall(m["contexts"])
        lines.append(LogLine(m["level"], contexts[0] if contexts else "", m["message"].strip()))
    return lines


def decode_errors(lines: list[LogLine], *, after_seek: bool = False) -> list[LogLine]:
    """The errors the libraries logged while reading and decoding the file (demuxer,
    parser, decoder: `[h264 @ 0x…] [error] …`): lines at error level or worse, except
    those of the filter graph and ffmpeg's own program (no context, or one like `in#0`,
    `vist#0:0/h264`, `dec:h264`), which only repeat the decoder's ("Error while decoding
    stream #0:0").

    `after_seek` (a decode that started by seeking to a chunk's start): errors logged
    before the first frame are the pre-roll's (read from the keyframe before the start
    only to reach it: an open GOP's leading frames miss their references, and the
    previous chunk decoded that stretch) and do not count when that first frame came on
    time (within one and a half frame durations of the start). A late first frame means
    damage swallowed the chunk's start: then they count. Counts stay approximate at
    chunk edges (a keyframes decode reads on to the next keyframe)."""
    start = 0
    if after_seek:
        first = next((i for i, ln in enumerate(lines) if _is_showinfo(ln)), None)
        if first is not None and _on_time(lines[first].message):
            start = first
    return [
        ln
        for ln in lines[start:]
        if ln.level in _ERROR_LEVELS
        and ln.context
        and not ln.context.startswith(_OWN_CONTEXTS)
        and not any(c in ln.context for c in "#:")
    ]


def _is_showinfo(line: LogLine) -> bool:
    return line.context.startswith("Parsed_showinfo") and bool(_SHOWINFO.search(line.message))


def _on_time(showinfo: str) -> bool:
    """Whether a chunk's first frame (its showinfo line; times from the chunk's start) is
    the first frame of the stretch: within 1.5 frame durations (0.1 s when not said)."""
    t = float(_SHOWINFO.search(showinfo).group(2))
    d = _DURATION.search(showinfo)
    frame = float(d.group(1)) if d and float(d.group(1)) > 0 else 0.1
    return t <= 1.5 * frame + 1e-6


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


# Each line with its level ([error]); every repeated line printed, not "Last message
# repeated N times", so that each decode error counts.
LOGLEVEL = "repeat+level+info"

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
    # an object in object storage: a signed URL made for this process (range requests)
    source = remote.readable(chunk.path)
    stream = ffmpeg.input(source, **input_opts).video
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
            .global_args("-hide_banner", "-nostdin", "-nostats", "-loglevel", LOGLEVEL)
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
        lines = parse_log(log)
        errors = decode_errors(lines, after_seek=chunk.start > 0)
        # No frame and no decode error: ffmpeg could not read the file at all. No frame
        # but decode errors (ffmpeg exits 69 when most of what it decoded was broken):
        # this stretch is damage, returned as such (auto then tries a full decode).
        if proc.returncode != 0 and n == 0 and not errors:
            tail = [ln.text for ln in lines if not ln.context.startswith("Parsed_")]
            said = remote.redact(tail[-1], source, chunk.path) if tail else "no output"
            raise DecodeError(f"ffmpeg failed on {chunk.path}: {said}")
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
        decode_errors=len(errors),
        first_decode_error=remote.redact(errors[0].text, source, chunk.path) if errors else None,
    )
