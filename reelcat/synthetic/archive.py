"""Synthetic video archives with ground truth, rendered from :mod:`reelcat.synthetic.world`.

Scripted, for tests::

    from reelcat.synthetic.archive import Shot, make_video
    truth = make_video("clip.mp4", [Shot("beach", 4.0), Shot("weapon", 1.5, nuisance="noise"),
                                    Shot("beach", 3.0, second="blood")], size=(320, 180), fps=15)

Random, for demos and quality measurement::

    python -m reelcat.synthetic.archive --videos 12 --seed 0 --out sample_archive

writes the videos and ``ground_truth.json`` beside them. Frames are rendered small
(longest side 160 px) and piped as raw RGB into ffmpeg, which scales them up to the
target size inside its filter graph and encodes (H.264 ultrafast, VP9 realtime, MPEG-4
part 2). Times in the ground truth are presentation times in seconds.

Ground truth (one file, ``ground_truth.json``)::

    {"seed": 0, "concepts": [...],
     "videos": [{"file": "v000_beach.mp4", "duration": 12.0, "fps": 15.0,
                 "width": 320, "height": 180,
                 "rotation": 0, "codec": "h264", "vfr": false, "frames": 180, "audio": false,
                 "display_width": 320, "display_height": 180,
                 "shots": [{"start": 0.0, "end": 4.0, "concepts": ["beach"], "cutaway": false,
                            "nuisance": null}, ...],
                 "main_topics": ["beach", ...],   # on screen >= 20% of the time, biggest first
                 "sensitive": [{"start": 4.0, "end": 5.5, "concept": "weapon"}]}]}

``width``/``height`` are the coded size ffprobe reports; ``rotation`` is the display
rotation ffprobe reports (degrees, counter-clockwise, from the display matrix), and the
content is upright once a player applies it (so ``display_width``/``display_height`` are
swapped for +-90). ``fps`` is the nominal rate (the mean rate for VFR videos).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reelcat.synthetic.world import CONCEPTS, NUISANCES, SENSITIVE_CONCEPTS, Nuisance, make_scene
from reelcat.tools import ffmpeg_path

#: Container suffix -> default codec (ffprobe's codec_name).
CODEC_FOR_SUFFIX = {".mp4": "h264", ".mov": "h264", ".mkv": "mpeg4", ".webm": "vp9"}
_ENCODER_ARGS = {
    "h264": ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "26", "-pix_fmt", "yuv420p"],
    "vp9": [
        "-c:v",
        "libvpx-vp9",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-row-mt",
        "1",
        "-b:v",
        "0",
        "-crf",
        "42",
        "-pix_fmt",
        "yuv420p",
    ],
    "mpeg4": ["-c:v", "mpeg4", "-q:v", "5", "-pix_fmt", "yuv420p"],
}
_AUDIO_ARGS = {
    ".mp4": ["-c:a", "aac", "-b:a", "48k"],
    ".mov": ["-c:a", "aac", "-b:a", "48k"],
    ".mkv": ["-c:a", "aac", "-b:a", "48k"],
    ".webm": ["-c:a", "libopus", "-b:a", "32k"],
}
#: VFR timestamps live on this clock (ticks per second); rates used must divide it.
VFR_CLOCK = 30
VFR_RATES = (30, 15, 10)
RENDER_LONG_SIDE = 160


#: Bumped whenever the same seed would render a different archive (caches compare it).
GENERATOR_VERSION = 3
#: On average one glitch per this many seconds of video, each GLITCH_SECONDS long.
GLITCH_EVERY = 4.0
GLITCH_SECONDS = (0.3, 1.2)
#: Glitch kinds and the full-strength nuisances each stacks.
GLITCHES: dict[str, tuple[str, ...]] = {
    "dropout": ("occlusion", "noise"),  # a broken stretch of the stream
    "smear": ("blur", "noise"),  # a knock or a fast pan
    "passer-by": ("occlusion", "blur"),  # something crosses right in front of the lens
}


@dataclass
class Shot:
    """A stretch of one concept (plus an optional second one composited in).

    nuisance: one of noise / blur / fade / occlusion (fade = from and to black), all shot long.
    cutaway: marks a brief unrelated insert in the ground truth (it renders like any shot).
    glitches: (offset s, length s, kind) of brief heavy degradations inside the shot (kinds
    in GLITCHES): single frames go wrong, the shot does not change.
    """

    concept: str
    duration: float
    second: str | None = None
    nuisance: str | None = None
    cutaway: bool = False
    glitches: tuple[tuple[float, float, str], ...] = ()

    def __post_init__(self) -> None:
        for c in (self.concept, self.second):
            if c is not None and c not in CONCEPTS:
                raise ValueError(f"unknown concept {c!r}; known: {', '.join(CONCEPTS)}")
        if self.nuisance is not None and self.nuisance not in NUISANCES:
            raise ValueError(f"unknown nuisance {self.nuisance!r}; known: {', '.join(NUISANCES)}")
        for _, _, kind in self.glitches:
            if kind not in GLITCHES:
                raise ValueError(f"unknown glitch {kind!r}; known: {', '.join(GLITCHES)}")
        if not self.duration > 0:
            raise ValueError(f"shot duration must be positive, got {self.duration}")


# ----------------------------------------------------------------------------- timing


def _cfr_times(
    shots: Sequence[Shot], fps: float
) -> tuple[np.ndarray, list[tuple[float, float]], float]:
    """Frame times and shot bounds for constant rate: each shot a whole number of frames."""
    counts = [max(1, int(round(s.duration * fps))) for s in shots]
    n = sum(counts)
    times = np.arange(n) / fps
    bounds, k = [], 0
    for c in counts:
        bounds.append((k / fps, (k + c) / fps))
        k += c
    return times, bounds, n / fps


def _vfr_timeline(
    total: float, rng: np.random.Generator
) -> tuple[list[tuple[int, int, int]], np.ndarray]:
    """Segments (first frame, first tick, ticks per frame) of changing rate, and frame ticks."""
    segs: list[tuple[int, int, int]] = []
    ticks: list[int] = []
    tick, frame = 0, 0
    end = int(round(total * VFR_CLOCK))
    last_rate = None
    while tick < end:
        seg_end = min(end, tick + int(rng.uniform(1.0, 3.5) * VFR_CLOCK))
        if end - seg_end < VFR_CLOCK:
            # the last segment runs at the full clock rate so the last frame ends exactly at
            # `end` (muxers give a final frame one tick)
            seg_end, rate = end, VFR_CLOCK
        else:
            rate = int(rng.choice([r for r in VFR_RATES if r != last_rate]))
        last_rate = rate
        step = VFR_CLOCK // rate
        segs.append((frame, tick, step))
        while tick < seg_end:
            ticks.append(tick)
            tick += step
            frame += 1
    return segs, np.asarray(ticks, dtype=np.int64)


def _setpts_expr(segs: list[tuple[int, int, int]]) -> str:
    """A setpts expression giving each frame N its tick on the 1/VFR_CLOCK time base."""
    n0, t0, step = segs[-1]
    expr = f"{t0}+(N-{n0})*{step}"
    for (n0, t0, step), (n1, _, _) in zip(reversed(segs[:-1]), reversed(segs[1:]), strict=True):
        expr = f"if(lt(N,{n1}),{t0}+(N-{n0})*{step},{expr})"
    return expr


# ----------------------------------------------------------------------------- one video


def _render_size(display: tuple[int, int]) -> tuple[int, int]:
    w, h = display
    s = RENDER_LONG_SIDE / max(w, h)
    return max(16, int(round(w * s / 2)) * 2), max(16, int(round(h * s / 2)) * 2)


def _normalise_rotation(rotation: int) -> int:
    """Degrees as ffprobe reports them for a display matrix: 0, 90, -90 or -180."""
    r = int(rotation) % 360
    if r % 90:
        raise ValueError(f"rotation must be a multiple of 90, got {rotation}")
    return {0: 0, 90: 90, 180: -180, 270: -90}[r]


def make_video(
    path: str | Path,
    shots: Sequence[Shot],
    *,
    size: tuple[int, int] = (320, 180),
    fps: float = 15.0,
    rotation: int = 0,
    vfr: bool = False,
    seed: int = 0,
    codec: str | None = None,
    audio: bool = False,
    motion: float = 1.0,
) -> dict:
    """Render ``shots`` into a video at ``path`` and return its ground-truth record.

    The container comes from the suffix (.mp4/.mov H.264, .webm VP9, .mkv MPEG-4 part 2;
    ``codec`` overrides: h264, vp9, mpeg4). ``size`` is the coded (w, h); with ``rotation``
    (degrees) the file carries a display matrix and the content is drawn so that it is
    upright when displayed. ``vfr`` writes frames at changing rates (30/15/10 fps segments)
    with real irregular timestamps; ``fps`` is then ignored for timing and the mean rate
    is recorded. The file is written under a temporary name and renamed.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CODEC_FOR_SUFFIX:
        raise ValueError(
            f"unsupported container {suffix!r}; use one of {', '.join(CODEC_FOR_SUFFIX)}"
        )
    codec = codec or CODEC_FOR_SUFFIX[suffix]
    if codec not in _ENCODER_ARGS:
        raise ValueError(f"unsupported codec {codec!r}; use one of {', '.join(_ENCODER_ARGS)}")
    if not shots:
        raise ValueError("a video needs at least one shot")
    w, h = int(size[0]), int(size[1])
    if w % 2 or h % 2:
        raise ValueError(f"size must be even for yuv420p, got {w}x{h}")
    rot = _normalise_rotation(rotation)
    quarter = (rot // 90) % 4  # display = np.rot90(coded, quarter)
    disp = (h, w) if quarter % 2 else (w, h)
    rw, rh = _render_size(disp)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 31337]))

    # --- timeline
    if vfr:
        nominal = sum(s.duration for s in shots)
        segs, ticks = _vfr_timeline(nominal, rng)
        times = ticks / VFR_CLOCK
        duration = (ticks[-1] + segs[-1][2]) / VFR_CLOCK
        # shot bounds on the tick clock; the last shot runs to the end
        bounds, acc = [], 0.0
        for i, s in enumerate(shots):
            start = round(acc * VFR_CLOCK) / VFR_CLOCK
            acc += s.duration
            end = duration if i == len(shots) - 1 else round(acc * VFR_CLOCK) / VFR_CLOCK
            bounds.append((start, end))
        rate_in = VFR_CLOCK
        mean_fps = len(times) / duration
    else:
        times, bounds, duration = _cfr_times(shots, fps)
        rate_in = fps
        mean_fps = float(fps)

    # --- per-shot scenes and nuisances
    scenes = []
    for i, s in enumerate(shots):
        srng = np.random.default_rng(np.random.SeedSequence([seed, 7, i]))
        scene = make_scene(s.concept, srng, second=s.second, motion=motion)
        nz = Nuisance.random(s.nuisance, srng) if s.nuisance else None
        grng = np.random.default_rng(np.random.SeedSequence([seed, 13, i]))
        glitches = [
            (a, a + d, [Nuisance.random(k, grng, strength=1.0) for k in GLITCHES[kind]])
            for a, d, kind in s.glitches
        ]
        scenes.append((scene, nz, float(srng.uniform(0, 20)), srng, glitches))

    # --- ffmpeg
    tmp = path.with_name(f".{path.stem}.tmp{suffix}")
    path.parent.mkdir(parents=True, exist_ok=True)
    filters = []
    if vfr:
        filters.append(f"setpts='{_setpts_expr(segs)}'")
    filters.append(f"scale={w}:{h}:flags=bicubic")
    filters.append("format=yuv420p")
    gop = max(1, int(round(2 * mean_fps)))
    cmd = [
        ffmpeg_path(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{(rh if quarter % 2 else rw)}x{(rw if quarter % 2 else rh)}",
        "-framerate",
        str(rate_in),
        "-i",
        "pipe:0",
    ]
    if audio:
        cmd += [
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={220 + 110 * (seed % 5)}:sample_rate=22050:duration={duration:.3f}",
        ]
    cmd += ["-map", "0:v:0"] + (["-map", "1:a:0"] if audio else [])
    cmd += ["-vf", ",".join(filters)] + _ENCODER_ARGS[codec] + ["-g", str(gop)]
    if vfr:
        cmd += ["-fps_mode", "passthrough", "-enc_time_base", f"1/{VFR_CLOCK}"]
    if audio:
        cmd += _AUDIO_ARGS[suffix]
    if suffix in (".mp4", ".mov"):
        cmd += ["-video_track_timescale", str(VFR_CLOCK * 1000 if vfr else _timescale(fps))]
    # no muxing date or writer version in the file: the same seed gives the same bytes
    cmd += ["-fflags", "+bitexact", str(tmp)]
    # scale= uses the coded size; render the upright picture then turn it to coded orientation
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        k = 0
        for i, (start, end) in enumerate(bounds):
            scene, nz, t_off, srng, glitches = scenes[i]
            frame_rng = np.random.default_rng(np.random.SeedSequence([seed, 11, i]))
            while k < len(times) and (times[k] < end or i == len(bounds) - 1):
                tau = float(times[k] - start)
                frame = scene.render(t_off + tau, (rw, rh))
                if nz is not None:
                    level = None
                    if nz.kind == "fade":
                        fd = min(0.8, (end - start) / 3)
                        level = float(np.clip(min(tau / fd, (end - start - tau) / fd), 0.0, 1.0))
                    frame = nz.apply(frame, frame_rng, level=level)
                for g0, g1, layers in glitches:
                    if g0 <= tau < g1:
                        for gnz in layers:
                            frame = gnz.apply(frame, frame_rng)
                if quarter:
                    frame = np.ascontiguousarray(np.rot90(frame, -quarter))
                proc.stdin.write(frame.tobytes())
                k += 1
        proc.stdin.close()
        err = proc.stderr.read().decode(errors="replace")
        rc = proc.wait()
    except BrokenPipeError:
        err = proc.stderr.read().decode(errors="replace")
        rc = proc.wait()
    if rc != 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"ffmpeg failed ({rc}) writing {path.name}: {err.strip()[-2000:]}")
    if rot:
        rtmp = path.with_name(f".{path.stem}.rot{suffix}")
        r = subprocess.run(
            [
                ffmpeg_path(),
                "-hide_banner",
                "-loglevel",
                "error",
                "-nostdin",
                "-y",
                "-display_rotation",
                str(rot),
                "-i",
                str(tmp),
                "-c",
                "copy",
                "-fflags",
                "+bitexact",
                str(rtmp),
            ],
            capture_output=True,
            text=True,
        )
        tmp.unlink(missing_ok=True)
        if r.returncode != 0:
            rtmp.unlink(missing_ok=True)
            raise RuntimeError(
                f"ffmpeg failed to set rotation on {path.name}: {r.stderr.strip()[-2000:]}"
            )
        tmp = rtmp
    os.replace(tmp, path)

    shot_rows = [
        {
            "start": round(a, 6),
            "end": round(b, 6),
            "concepts": [s.concept] + ([s.second] if s.second else []),
            "cutaway": bool(s.cutaway),
            "nuisance": s.nuisance,
            "glitches": [
                [round(a + g0, 6), round(min(b, a + g0 + d), 6), kind] for g0, d, kind in s.glitches
            ],
        }
        for s, (a, b) in zip(shots, bounds, strict=True)
    ]
    return {
        "file": path.name,
        "duration": round(float(duration), 6),
        "fps": round(float(mean_fps), 4),
        "width": w,
        "height": h,
        "display_width": disp[0],
        "display_height": disp[1],
        "rotation": rot,
        "codec": codec,
        "vfr": bool(vfr),
        "frames": int(len(times)),
        "audio": bool(audio),
        "shots": shot_rows,
        "main_topics": main_topics(shot_rows, duration),
        "sensitive": sensitive_intervals(shot_rows),
    }


def _timescale(fps: float) -> int:
    """An mp4 track timescale that represents 1/fps exactly."""
    f = float(fps)
    if f.is_integer():
        return int(f) * 1000
    return 90000


def main_topics(shots: Sequence[dict], duration: float, min_share: float = 0.2) -> list[str]:
    """Concepts on screen for at least ``min_share`` of the time, biggest share first."""
    cover: dict[str, float] = {}
    for s in shots:
        for c in s["concepts"]:
            cover[c] = cover.get(c, 0.0) + (s["end"] - s["start"])
    keep = [(c, t) for c, t in cover.items() if duration > 0 and t / duration >= min_share - 1e-9]
    return [c for c, _ in sorted(keep, key=lambda ct: (-ct[1], ct[0]))]


def sensitive_intervals(shots: Sequence[dict]) -> list[dict]:
    """Merged intervals where a sensitive concept is on screen."""
    out: list[dict] = []
    for s in shots:
        for c in s["concepts"]:
            if c in SENSITIVE_CONCEPTS:
                if out and out[-1]["concept"] == c and abs(out[-1]["end"] - s["start"]) < 1e-6:
                    out[-1]["end"] = s["end"]
                else:
                    out.append({"start": s["start"], "end": s["end"], "concept": c})
    return out


# ----------------------------------------------------------------------------- archives

_RESOLUTIONS_SMALL = ((320, 180), (426, 240), (480, 270), (320, 240), (384, 216))
_RESOLUTIONS_MID = ((640, 360), (854, 480), (640, 480))
_FPS = (10, 12, 15, 15, 20, 24, 25, 30)
_NORMAL = tuple(c for c in CONCEPTS if c not in SENSITIVE_CONCEPTS)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _split(total: float, parts: int, rng: np.random.Generator, minimum: float) -> list[float]:
    if parts == 1:
        return [total]
    w = rng.dirichlet(np.full(parts, 2.0))
    extra = max(total - minimum * parts, 0.0)
    return [minimum + extra * x for x in w]


def plan_video(
    index: int, rng: np.random.Generator, *, nuisances: bool = True, sensitive: bool = False
) -> list[Shot]:
    """A random script: 2-5 shots over 1-3 main concepts, cutaways, nuisances, sensitive inserts."""
    n_main = int(rng.choice([1, 1, 2, 2, 3]))
    mains = [str(c) for c in rng.choice(_NORMAL, size=n_main, replace=False)]
    total = float(rng.uniform(8, 22) if rng.random() < 0.75 else rng.uniform(22, 38))
    n_shots = int(rng.integers(max(2, n_main), 6))
    order = mains + [str(rng.choice(mains)) for _ in range(n_shots - n_main)]
    rng.shuffle(order)
    # avoid two adjacent shots of the same concept where possible (reads as one shot)
    for i in range(1, len(order)):
        if order[i] == order[i - 1]:
            for j in range(i + 1, len(order)):
                if order[j] != order[i - 1] and (j + 1 >= len(order) or order[j + 1] != order[i]):
                    order[i], order[j] = order[j], order[i]
                    break
    durs = _split(total, n_shots, rng, 2.0)
    shots = [Shot(c, d) for c, d in zip(order, durs, strict=True)]
    if nuisances:
        for s in shots:
            if rng.random() < 0.35:
                s.nuisance = str(rng.choice(NUISANCES))
        # brief cutaways to an unrelated concept (0.5-2 s), taken out of a neighbour's time
        for _ in range(int(rng.choice([0, 1, 1, 2]))):
            pos = int(rng.integers(0, len(shots) + 1))
            others = [c for c in _NORMAL if c not in mains]
            d = float(rng.uniform(0.5, 2.0))
            host = shots[min(pos, len(shots) - 1)]
            if host.duration - d < 1.5:
                continue
            host.duration -= d
            shots.insert(pos, Shot(str(rng.choice(others)), d, cutaway=True))
    if sensitive:
        concept = str(rng.choice(SENSITIVE_CONCEPTS))
        d = float(rng.uniform(1.0, 3.0) if rng.random() < 0.5 else rng.uniform(4.0, 10.0))
        noisy = rng.random() < 0.35
        candidates = [i for i, s in enumerate(shots) if not s.cutaway]
        host_i = int(rng.choice(candidates))
        host = shots[host_i]
        if rng.random() < 0.35 and host.duration >= d + 1.0:
            # composited into part of a normal shot (e.g. a weapon inset in a kitchen)
            head = float(rng.uniform(0.5, host.duration - d))
            tail = host.duration - head - d
            piece = [
                Shot(host.concept, head, nuisance=host.nuisance),
                Shot(host.concept, d, second=concept, nuisance="noise" if noisy else host.nuisance),
            ]
            if tail > 0.25:
                piece.append(Shot(host.concept, tail, nuisance=host.nuisance))
            else:
                piece[1].duration += tail
            shots[host_i : host_i + 1] = piece
        else:
            pos = int(rng.integers(0, len(shots) + 1))
            shots.insert(pos, Shot(concept, d, nuisance="noise" if noisy else None))
    return shots


def add_glitches(shots: Sequence[Shot], rng: np.random.Generator) -> None:
    """Sprinkle brief heavy degradations over the shots (their own random stream, so an
    archive's scripts stay the same with or without them)."""
    for s in shots:
        spots = []
        for _ in range(int(rng.poisson(s.duration / GLITCH_EVERY))):
            d = float(rng.uniform(*GLITCH_SECONDS))
            if s.duration - d < 0.5:
                continue
            spots.append(
                (
                    round(float(rng.uniform(0, s.duration - d)), 3),
                    round(d, 3),
                    str(rng.choice(list(GLITCHES))),
                )
            )
        s.glitches = tuple(sorted(spots))


def generate_archive(
    out_dir: str | Path,
    videos: int,
    seed: int,
    *,
    nuisances: bool = True,
    sensitive_share: float = 0.3,
    log=None,
) -> Path:
    """Write ``videos`` videos and ``ground_truth.json`` into ``out_dir``; return the json path.

    Mostly small H.264 mp4; also VP9 webm, H.264 mov and MPEG-4 mkv, 320p up to 1080p
    (large ones short), 10-30 fps with one VFR and one rotated video; about
    ``sensitive_share`` of the videos contain blood or weapon intervals.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2026]))
    n_sensitive = int(round(videos * sensitive_share))
    sensitive_set = set(int(i) for i in rng.permutation(videos)[:n_sensitive])
    records = []
    for i in range(videos):
        vrng = np.random.default_rng(np.random.SeedSequence([seed, 2026, i]))
        shots = plan_video(i, vrng, nuisances=nuisances, sensitive=i in sensitive_set)
        suffix = ".mp4"
        size = _RESOLUTIONS_SMALL[int(vrng.integers(len(_RESOLUTIONS_SMALL)))]
        fps = float(vrng.choice(_FPS))
        rotation, vfr, audio = 0, False, bool(vrng.random() < 0.25)
        slot = i % 12
        if slot == 1:
            suffix = ".webm"
        elif slot == 2:
            suffix = ".mov"
        elif slot == 3:
            suffix = ".mkv"
        elif slot == 4:
            vfr = True
        elif slot == 5:
            rotation = 90
            size = (320, 180) if vrng.random() < 0.5 else (480, 270)
        elif slot == 6:
            size = _RESOLUTIONS_MID[int(vrng.integers(len(_RESOLUTIONS_MID)))]
        elif slot == 7 and i < 12:
            size = (1920, 1080) if i == 7 else (1280, 720)
            fps = 10.0
            _shorten(shots, 10.0)
        elif slot == 8 and i < 12:
            size, fps = (1280, 720), 12.0
            _shorten(shots, 12.0)
        elif slot in (9, 10, 11) and vrng.random() < 0.3:
            suffix = str(vrng.choice([".webm", ".mov", ".mkv"]))
        if nuisances:
            add_glitches(shots, np.random.default_rng(np.random.SeedSequence([seed, 2027, i])))
        cover: dict[str, float] = {}
        for s in shots:
            for c in [s.concept] + ([s.second] if s.second else []):
                cover[c] = cover.get(c, 0.0) + s.duration
        name = f"v{i:03d}_{_slug(max(cover, key=lambda c: (cover[c], c)))}{suffix}"
        t0 = time.monotonic()
        rec = make_video(
            out / name,
            shots,
            size=size,
            fps=fps,
            rotation=rotation,
            vfr=vfr,
            seed=seed * 100003 + i,
            audio=audio,
        )
        records.append(rec)
        if log:
            log(
                f"{name}: {rec['duration']:.1f}s {rec['width']}x{rec['height']} {rec['codec']} "
                f"{rec['fps']:.1f}fps in {time.monotonic() - t0:.1f}s"
            )
    truth = {
        "seed": int(seed),
        "generator": GENERATOR_VERSION,
        "concepts": list(CONCEPTS),
        "videos": records,
    }
    gt = out / "ground_truth.json"
    tmp = out / ".ground_truth.json.tmp"
    tmp.write_text(json.dumps(truth, indent=1) + "\n")
    os.replace(tmp, gt)
    return gt


def _shorten(shots: list[Shot], limit: float) -> None:
    """Scale shot durations so the video lasts at most ``limit`` seconds (keeps >= 0.5 s each)."""
    total = sum(s.duration for s in shots)
    if total <= limit:
        return
    f = limit / total
    for s in shots:
        s.duration = max(0.5, s.duration * f)


def load_ground_truth(path: str | Path) -> dict:
    """Read a ``ground_truth.json`` (or the one inside a directory)."""
    p = Path(path)
    if p.is_dir():
        p = p / "ground_truth.json"
    return json.loads(p.read_text())


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m reelcat.synthetic.archive",
        description="Generate a synthetic video archive with ground truth.",
    )
    ap.add_argument("--videos", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True, help="directory for the videos and ground_truth.json")
    ap.add_argument(
        "--no-nuisances", action="store_true", help="no noise/blur/fades/occlusion/cutaways"
    )
    ap.add_argument("--sensitive-share", type=float, default=0.3)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    gt = generate_archive(
        args.out,
        args.videos,
        args.seed,
        nuisances=not args.no_nuisances,
        sensitive_share=args.sensitive_share,
        log=None if args.quiet else print,
    )
    print(f"wrote {args.videos} videos and {gt} in {time.monotonic() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "Shot",
    "make_video",
    "generate_archive",
    "plan_video",
    "main_topics",
    "sensitive_intervals",
    "load_ground_truth",
    "main",
    "CODEC_FOR_SUFFIX",
]
