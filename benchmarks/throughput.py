#!/usr/bin/env python
"""Throughput of reelcat's decode + embed path, side by side with its bounds and a naive
baseline, in one run on generated videos and the same model (open_clip ViT-B-32 with
random weights: the same compute as trained weights).

    python benchmarks/throughput.py            # full measurement (a few minutes on 2 cores)
    python benchmarks/throughput.py --quick    # smoke version: tiny videos, seconds
    python benchmarks/throughput.py --work DIR # keep generated videos in DIR (cached)

What it measures, each in its own subprocess (peak memory = the largest sum of PSS over
that subprocess and all its descendants, Ray's processes and ffmpeg included, sampled
every 0.2 s; the largest single process is printed beside it):

(a) bounds: the model alone on pre-made tensors (batched, torch.inference_mode, all
    cores); decode alone per sampling mode (reelcat.ingest.frames.decode_chunk at model size,
    the chunks reelcat plans, `decode_tasks` ffmpeg processes at once with the threads
    reelcat gives each); the serial bound 1 / (decode s/frame + model s/frame).
(b) reelcat: reelcat.ingest.pipeline.embed_videos on a local Ray (started once per subprocess,
    its start-up reported apart), fresh output folder per repeat, per sampling mode; and
    one call over --long-videos copies of the clips (20 minutes of video), where the CLIP
    actor's fixed cold start is paid once as in a run over a real archive.
(c) naive: ffmpeg writes full-size JPEG files at the sampling rate (fps=1/2) -> PIL ->
    open_clip's preprocess -> the batched model.

Plus: a no-op re-run of embed_videos over the same output (nothing to decode) against
the full run; re-scoring 1M stored embeddings x a 1,000-tag vocabulary with
reelcat.tagging.scoring.score_embeddings in chunks; peak memory of the pipeline on a 1-minute
and a 30-minute video. Timings are medians of --repeats runs. The last line printed is
one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# Ray (imported only in the subprocesses that need it) listens on loopback only and
# skips token authentication for its throwaway local cluster.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

INTERVAL = 2.0  # seconds between sampled frames: reelcat's default, and the naive fps=1/2
DEFAULT_MODE = "auto"
MODES = ("interval", "keyframes", "scene", "auto")

# name, source filter, extra filters, size, seconds: three 1080p clips with moving content
FULL_CLIPS = [
    ("clip_a", "testsrc2", "", "1920x1080", 60),
    ("clip_b", "testsrc2", "hue=H=2*PI*t/7,hflip", "1920x1080", 60),
    ("clip_c", "testsrc2", "negate,hue=H=-2*PI*t/11,vflip", "1920x1080", 60),
]
FULL_MEMORY = [
    ("mem_1min", "testsrc2", "hue=H=2*PI*t/9", "320x180", 60),
    ("mem_30min", "testsrc2", "hue=H=2*PI*t/9", "320x180", 1800),
]
QUICK_CLIPS = [
    ("q_a", "testsrc2", "", "640x360", 8),
    ("q_b", "testsrc2", "hue=H=2*PI*t/7,hflip", "640x360", 8),
]
QUICK_MEMORY = [
    ("qmem_short", "testsrc2", "", "160x90", 8),
    ("qmem_long", "testsrc2", "", "160x90", 64),
]


# ----------------------------------------------------------------------------- helpers


def _ffmpeg() -> str:
    from reelcat.tools import ffmpeg_path

    return ffmpeg_path()


def make_video(
    work: Path, name: str, source: str, extra: str, size: str, seconds: int, fps: int = 30
) -> Path:
    """H.264 (superfast, 8 Mb/s at 1080p), a keyframe every 2 s; cached by its recipe."""
    w, h = (int(x) for x in size.split("x"))
    rate = max(200, int(8000 * w * h / (1920 * 1080)))  # kb/s, 8 Mb/s at 1080p
    vf = extra or "null"
    args = [
        "-f",
        "lavfi",
        "-i",
        f"{source}=size={size}:rate={fps}:duration={seconds}",
        "-vf",
        vf,
        "-c:v",
        "libx264",
        "-preset",
        "superfast",
        "-b:v",
        f"{rate}k",
        "-maxrate",
        f"{rate}k",
        "-bufsize",
        f"{2 * rate}k",
        "-g",
        str(2 * fps),
        "-keyint_min",
        str(2 * fps),
        "-sc_threshold",
        "0",
        "-pix_fmt",
        "yuv420p",
    ]
    digest = hashlib.sha1(json.dumps(args).encode()).hexdigest()[:8]
    path = work / "videos" / f"{name}-{digest}.mp4"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.mp4")
    subprocess.run([_ffmpeg(), "-v", "error", "-y", "-nostdin", *args, str(tmp)], check=True)
    os.replace(tmp, path)
    return path


def copies(videos: list[dict], n: int) -> list[dict]:
    """n videos: the given ones, then the same encodes again under new names (hard links)."""
    out = list(videos[:n])
    for i in range(len(videos), n):
        v = videos[i % len(videos)]
        p = Path(v["path"]).with_name(f"{v['video_id']}-copy{i}.mp4")
        if not p.exists():
            with contextlib.suppress(FileExistsError):
                os.link(v["path"], p)
        out.append({**v, "video_id": f"{v['video_id']}_copy{i}", "path": str(p)})
    return out


def distinct_copies(videos: list[dict], n: int) -> list[Path]:
    """n distinct files of the given encodes: each a stream copy (no re-encode) with its
    own title, so that `reelcat run` catalogues n videos (hard links of one encode have
    one fingerprint, one video id); the decode and embedding work is the encode's."""
    out = []
    for i in range(n):
        v = videos[i % len(videos)]
        p = Path(v["path"]).with_name(f"{v['video_id']}-distinct{i}.mp4")
        if not p.exists():
            tmp = p.with_name(f".{p.name}.tmp.mp4")
            subprocess.run(
                [_ffmpeg(), "-v", "error", "-y", "-nostdin", "-i", v["path"], "-c", "copy"]
                + ["-map_metadata", "-1", "-metadata", f"title=copy {i}", str(tmp)],
                check=True,
            )
            os.replace(tmp, p)
        out.append(p)
    return out


def probe(path: Path) -> float:
    from reelcat.tools import ffprobe_path

    out = subprocess.run(
        [
            ffprobe_path(),
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(out.strip())


def _processes() -> tuple[dict[int, list[int]], dict[int, int]]:
    """Children of every process, and every process's own CPU time (utime + stime, ticks)."""
    kids: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        kids.setdefault(int(fields[1]), []).append(int(entry.name))
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    return kids, ticks


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeMemory:
    """Peak of the summed PSS of this process and all its descendants, and their CPU time
    against the whole machine's (so other work on a shared machine shows), sampled."""

    def __init__(self, period: float = 0.2):
        self.period = period
        self.peak_kb = 0
        self.peak_procs = 0
        self.peak_single_kb = 0  # the largest single process seen
        self._ticks: dict[int, int] = {}  # own CPU ticks of every process of the tree seen
        self._start_ticks = 0
        self._busy0 = self._busy1 = 0.0
        self._wall0 = self._wall1 = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        kids, ticks = _processes()
        todo, tree = [os.getpid()], []
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(kids.get(pid, ()))
        for pid in tree:
            self._ticks[pid] = ticks.get(pid, self._ticks.get(pid, 0))
        sizes = [_pss_kb(p) for p in tree]
        total = sum(sizes)
        self.peak_single_kb = max(self.peak_single_kb, *sizes)
        if total > self.peak_kb:
            self.peak_kb, self.peak_procs = total, len(tree)

    @property
    def cpu_seconds(self) -> float:
        """CPU of the tree while sampled (processes shorter than a period can be missed)."""
        return (sum(self._ticks.values()) - self._start_ticks) / os.sysconf("SC_CLK_TCK")

    @property
    def other_cores(self) -> float:
        """Cores that work outside this tree kept busy meanwhile, on average."""
        wall = max(1e-9, self._wall1 - self._wall0)
        return max(0.0, (self._busy1 - self._busy0 - self.cpu_seconds) / wall)

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self._sample()

    def __enter__(self) -> TreeMemory:
        self._sample()
        self._start_ticks = sum(self._ticks.values())
        self._busy0, self._wall0 = _cpu_busy()[0], time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self._busy1, self._wall1 = _cpu_busy()[0], time.perf_counter()


class Phases:
    """Optional log of when each measurement ran (epoch seconds), for GPU sampling."""

    def __init__(self, path: str | None):
        self.path = path

    @contextlib.contextmanager
    def __call__(self, name: str):
        start = time.time()
        try:
            yield
        finally:
            if self.path:
                with open(self.path, "a") as fh:
                    fh.write(json.dumps({"phase": name, "start": start, "end": time.time()}) + "\n")


def _device(requested: str) -> str:
    import torch

    if requested != "auto":
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


def _model_cfg(spec: dict):
    from reelcat.config import ModelConfig

    return ModelConfig(
        name=spec["model"],
        random_weights=True,
        pretrained=None,
        batch_size=spec["batch_size"],
        device=spec["device"],
    )


def _sampling(mode: str, spec: dict):
    from reelcat.config import SamplingConfig

    return SamplingConfig(mode=mode, interval_seconds=spec.get("interval", INTERVAL))


# ----------------------------------------------------------------------------- children
# Each runs in its own process; it returns a dict that the parent reads from stdout.


def child_model(spec: dict) -> dict:
    import torch

    from reelcat.ingest.encoder import load_image_encoder, trace_path

    torch.set_num_threads(os.cpu_count() or 1)
    # The encoder the pipeline's actors load. The first actor on a machine builds the
    # model through open_clip and caches its trace; later ones load the trace.
    if spec.get("fresh_trace"):
        trace_path(_model_cfg(spec)).unlink(missing_ok=True)
    t = time.perf_counter()
    load_image_encoder(_model_cfg(spec))
    t_build = time.perf_counter() - t
    model = load_image_encoder(_model_cfg(spec))
    t_load = time.perf_counter() - t - t_build
    n = spec["model_frames"]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, model.image_size, model.image_size, generator=g)
    model.embed_tensor(x[: spec["batch_size"]])  # warm-up: allocator, kernels
    if model.device == "cuda":
        torch.cuda.synchronize()
    times = []
    for _ in range(spec["repeats"]):
        t = time.perf_counter()
        emb = model.embed_tensor(x)  # returns numpy: synchronised
        times.append(time.perf_counter() - t)
    assert emb.shape[0] == n
    return {
        "frames": n,
        "times": times,
        "device": model.device,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "image_size": model.image_size,
        "build_and_trace": t_build,
        "load_trace": t_load,
    }


def _plan(videos: list[dict], mode: str, batch_size: int) -> list:
    """The chunks reelcat's pipeline decodes for these videos and this mode."""
    from reelcat.ingest import pipeline

    sampling = _sampling(mode, {})
    max_frames = max(pipeline.MAX_CHUNK_FRAMES, batch_size)
    return [c for v in videos for c in pipeline.plan_video_chunks(v, sampling, max_frames)]


def child_decode(spec: dict) -> dict:
    """Decode only: every chunk of every video, as many ffmpeg at once as reelcat runs."""
    from concurrent.futures import ThreadPoolExecutor

    from reelcat.ingest.frames import decode_chunk

    cpus = os.cpu_count() or 1
    workers = spec["decode_tasks"]
    threads = max(1, cpus // workers)
    out: dict = {"workers": workers, "threads": threads, "modes": {}}
    for mode in spec["modes"]:
        chunks = _plan(spec["videos"], mode, spec["batch_size"])
        sampling = _sampling(mode, spec)
        times, frames = [], 0

        def run(c, sampling=sampling, mode=mode):
            return len(
                decode_chunk(
                    c,
                    mode=mode,
                    interval_seconds=INTERVAL,
                    size=spec["image_size"],
                    thumbnail_width=sampling.thumbnail_width,
                    scene_threshold=sampling.scene_threshold,
                    threads=threads,
                ).times
            )

        for _ in range(spec.get("mode_repeats", {}).get(mode, spec["repeats"])):
            t = time.perf_counter()
            with ThreadPoolExecutor(workers) as pool:
                frames = sum(pool.map(run, chunks))
            times.append(time.perf_counter() - t)
        out["modes"][mode] = {"frames": frames, "times": times, "chunks": len(chunks)}
    return out


def _start_ray(spec: dict) -> float:
    import ray

    t = time.perf_counter()
    gpus = 1 if spec["device"] == "cuda" else 0
    # address="local": a fresh cluster of our own, even when others run on this machine
    ray.init(
        address="local",
        num_cpus=os.cpu_count(),
        num_gpus=gpus,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    return time.perf_counter() - t


def child_pipeline(spec: dict) -> dict:
    import pyarrow as pa
    import ray

    from reelcat.ingest.pipeline import embed_videos
    from reelcat.ingest.step import videos_to_embed
    from reelcat.storage.layout import Layout

    ray_start = _start_ray(spec)
    cfg = _model_cfg(spec)
    sampling = _sampling(spec["mode"], spec)
    gpus = 1.0 if spec["device"] == "cuda" else 0.0
    times, frames, decode_s, outs = [], 0, [], []
    for i in range(spec["repeats"]):
        out = Path(spec["out"]) / f"run{i}"
        shutil.rmtree(out, ignore_errors=True)
        t = time.perf_counter()
        report = embed_videos(
            spec["videos"],
            out=out,
            model_cfg=cfg,
            model_id=f"{spec['model']}@random-init",
            sampling=sampling,
            decode_tasks=spec["decode_tasks"],
            embed_actors=1,
            actor_cpus=1.0,
            actor_gpus=gpus,
        )
        times.append(time.perf_counter() - t)
        if report.errors:
            raise RuntimeError(f"pipeline errors: {report.errors}")
        frames = report.frames
        decode_s.append(report.decode_seconds)
        outs.append(out)
    actor_start = None
    if spec.get("actor_start"):
        # The actor's cold start alone (a fresh worker imports torch and loads the cached
        # trace of the image tower): a fixed cost every embed_videos call pays.
        from reelcat.ingest.ray_work import RemoteEmbedder as Embedder

        cpus = os.cpu_count() or 1
        t = time.perf_counter()
        actor = Embedder.options(num_cpus=1.0, num_gpus=gpus).remote(
            cfg, max(1, cpus if cpus <= 4 else 1)
        )
        ray.get(actor.image_size.remote())
        actor_start = time.perf_counter() - t
        ray.kill(actor)
    noop = []
    for _ in range(spec["repeats"] if spec.get("noop") else 0):
        t = time.perf_counter()
        folder = Layout(outs[-1]).frames_dir(f"{spec['model']}@random-init", sampling.id)
        todo = videos_to_embed(pa.Table.from_pylist(spec["videos"]), folder)
        report = embed_videos(
            todo,
            out=outs[-1],
            model_cfg=cfg,
            model_id=f"{spec['model']}@random-init",
            sampling=sampling,
            decode_tasks=spec["decode_tasks"],
        )
        noop.append(time.perf_counter() - t)
        assert report.frames == 0 and not todo
    ray.shutdown()
    for out in outs:
        shutil.rmtree(out, ignore_errors=True)
    return {
        "frames": frames,
        "times": times,
        "decode_task_seconds": decode_s,
        "noop_times": noop,
        "ray_start": ray_start,
        "actor_start": actor_start,
    }


def child_naive_run(spec: dict) -> dict:
    """One naive run, in a fresh process: imports, model, then for each video ffmpeg
    writes full-size JPEGs at 1 frame / 2 s -> PIL -> open_clip preprocess -> model."""
    started = time.perf_counter()
    import torch
    from PIL import Image

    from reelcat.tagging.model import ClipModel

    torch.set_num_threads(os.cpu_count() or 1)
    bs = spec["batch_size"]
    tmp = Path(tempfile.mkdtemp(prefix="naive-", dir=spec["out"]))
    model = ClipModel(_model_cfg(spec))
    ready = time.perf_counter()
    frames = 0
    for v in spec["videos"]:
        folder = tmp / v["video_id"]
        folder.mkdir()
        subprocess.run(
            [
                _ffmpeg(),
                "-v",
                "error",
                "-nostdin",
                "-i",
                v["path"],
                "-vf",
                f"fps=1/{INTERVAL:g}",
                "-q:v",
                "2",
                str(folder / "%06d.jpg"),
            ],
            check=True,
        )
        files = sorted(folder.glob("*.jpg"))
        for i in range(0, len(files), bs):
            batch = torch.stack(
                [model.preprocess(Image.open(f).convert("RGB")) for f in files[i : i + bs]]
            )
            frames += len(model.images.embed_tensor(batch))
    shutil.rmtree(tmp, ignore_errors=True)
    return {"frames": frames, "start": ready - started}


def child_naive(spec: dict) -> dict:
    """The naive baseline, each repeat a fresh process timed end to end: like the
    pipeline's actor, it pays for importing torch and open_clip and building the model."""
    times, starts, frames = [], [], 0
    for _ in range(spec["repeats"]):
        t = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, __file__, "--child", "naive_run"],
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(time.perf_counter() - t)
        run = json.loads(
            [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1][
                len("RESULT ") :
            ]
        )
        frames = run["frames"]
        starts.append(run["start"])
    return {"frames": frames, "times": times, "start_times": starts}


def _cli_run(
    spec: dict, archive: Path, out: Path, cache: Path, on_ray: bool = False
) -> tuple[float, int]:
    """`reelcat run` as a person runs it, in its own process: (wall seconds, frames).
    `on_ray`: on a local Ray however small the increment (ray.in_process_frames 0)."""
    from catalog.build import open_catalog

    env = {**os.environ, "REELCAT_CACHE": str(cache), "XDG_CACHE_HOME": str(cache / "xdg")}
    env.pop("RAY_ADDRESS", None)
    env.pop("REELCAT_RAY_IN_PROCESS_FRAMES", None)
    if on_ray:
        env["REELCAT_RAY_IN_PROCESS_FRAMES"] = "0"
    t = time.perf_counter()
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("reelcat")), "run", "--config", spec["cli_config"]]
        + ["--archive", str(archive), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=out.parent,
    )
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"reelcat run failed: {proc.stderr[-3000:]}")
    con = open_catalog(out)
    (frames,) = con.execute("SELECT count(*) FROM frames").fetchone()
    con.close()
    return wall, frames


def _text_rate(spec: dict, cache: Path) -> tuple[int, float]:
    """(texts, seconds) of the text tower embedding the vocabulary's bank from an empty
    machine cache, in a process of its own."""
    proc = subprocess.run(
        [sys.executable, __file__, "--child", "text_rate"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "REELCAT_CACHE": str(cache), "PYTHONPATH": str(REPO)},
    )
    result = json.loads(proc.stdout.split("RESULT ", 1)[1])
    return result["texts"], result["seconds"]


def child_text_rate(spec: dict) -> dict:
    from reelcat.config import load_config
    from reelcat.tagging import text_cache
    from reelcat.tagging.scoring import bank_texts
    from reelcat.tagging.vocabulary import load_vocabulary

    cfg = load_config(spec["cli_config"])
    text_cache.text_embeddings(cfg.model, bank_texts(load_vocabulary(cfg.vocabulary)))
    done = text_cache.embedded()
    return {"texts": done.texts, "seconds": done.seconds}


def child_cli(spec: dict) -> dict:
    """End to end through the real `reelcat run` command (each run a new output folder):
    fresh (no machine cache: the encoder trace and the text embeddings are made),
    warm (the machine cache from a previous run: new videos into a new folder), and a
    run over one tiny new video with warm caches (the fixed cost of a run). These use
    reelcat's defaults, which embed so small an increment in the run's own process; the
    warm and tiny runs are repeated on a local Ray (ray.in_process_frames 0) beside them."""
    root = Path(tempfile.mkdtemp(prefix="cli-", dir=spec["out"]))
    archive, tiny = root / "archive", root / "tiny"
    archive.mkdir()
    tiny.mkdir()
    for v in spec["videos"]:
        (archive / Path(v["path"]).name).symlink_to(v["path"])
    (tiny / Path(spec["tiny_video"]).name).symlink_to(spec["tiny_video"])
    long = root / "long"
    long.mkdir()
    for path in spec.get("long_files", []):
        (long / Path(path).name).symlink_to(path)
    fresh, warm, overhead, frames = [], [], [], 0
    warm_ray, overhead_ray = [], []
    for i in range(spec["repeats"]):
        cache = root / f"cache-{i}"
        wall, frames = _cli_run(spec, archive, root / f"fresh-{i}", cache)
        fresh.append(wall)
        warm.append(_cli_run(spec, archive, root / f"warm-{i}", cache)[0])
        overhead.append(_cli_run(spec, tiny, root / f"tiny-{i}", cache)[0])
        warm_ray.append(_cli_run(spec, archive, root / f"warm-ray-{i}", cache, True)[0])
        overhead_ray.append(_cli_run(spec, tiny, root / f"tiny-ray-{i}", cache, True)[0])
    # the 20-minute set (distinct files), warm cache: as a night's larger increment
    long_runs = [
        _cli_run(spec, long, root / f"long-{i}", cache)
        for i in range(spec["repeats"] if spec.get("long_files") else 0)
    ]
    texts, seconds = _text_rate(spec, root / "cache-text")
    shutil.rmtree(root, ignore_errors=True)
    return {
        "frames": frames,
        "fresh": fresh,
        "warm": warm,
        "overhead": overhead,
        "warm_ray": warm_ray,
        "overhead_ray": overhead_ray,
        "long": long_runs,  # [(wall seconds, frames)] per repeat
        "texts": texts,
        "text_seconds": seconds,
    }


def _unit(rng, n, dim):
    import numpy as np

    x = rng.standard_normal((n, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def synthetic_bank(rng, tags: int, dim: int = 512, background: int = 4, logit_scale: float = 100.0):
    """`tags` random tag vectors and a few background negatives shared by every tag."""
    import numpy as np

    from reelcat.tagging.scoring import TextBank

    return TextBank(
        [f"tag{j}" for j in range(tags)],
        _unit(rng, tags, dim),
        _unit(rng, background, dim),
        np.ones((background, tags), bool),
        logit_scale,
    )


def child_rescore(spec: dict) -> dict:
    import numpy as np

    from reelcat.tagging.scoring import score_embeddings

    rng = np.random.default_rng(0)
    n, tags, chunk = spec["rescore_rows"], spec["rescore_tags"], spec["rescore_chunk"]
    bank = synthetic_bank(rng, tags)
    emb = np.empty((n, 512), np.float32)
    for i in range(0, n, 1 << 16):
        emb[i : i + (1 << 16)] = _unit(rng, min(1 << 16, n - i), 512)
    times = []
    for _ in range(spec["repeats"]):
        t = time.perf_counter()
        top = 0.0
        for i in range(0, n, chunk):
            cosine, score = score_embeddings(emb[i : i + chunk], bank)
            top = max(top, float(score[:, 0].max()))  # use the result
        times.append(time.perf_counter() - t)
    return {"rows": n, "tags": tags, "chunk": chunk, "times": times}


CHILDREN = {
    "model": child_model,
    "decode": child_decode,
    "pipeline": child_pipeline,
    "naive": child_naive,
    "naive_run": child_naive_run,
    "rescore": child_rescore,
    "cli": child_cli,
    "text_rate": child_text_rate,
}


def _cpu_busy() -> tuple[float, float]:
    """Machine-wide (busy, total) CPU seconds since boot, from /proc/stat."""
    with open("/proc/stat") as fh:
        vals = [int(x) for x in fh.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    return (sum(vals[:8]) - idle) / hz, sum(vals[:8]) / hz


def wait_for_quiet(max_wait: float, threshold: float = 0.25) -> float:
    """Wait (up to max_wait s) until other work uses under `threshold` of one core over
    a second; return the load seen last (cores busy)."""
    deadline = time.monotonic() + max_wait
    while True:
        b0, _ = _cpu_busy()
        time.sleep(1.0)
        load = _cpu_busy()[0] - b0
        if load < threshold or time.monotonic() >= deadline:
            return load


def run_child(kind: str, spec: dict, phases: Phases, label: str) -> dict:
    """Run one measurement in a subprocess; return its result plus its peak memory."""
    quiet = wait_for_quiet(spec.get("wait_quiet", 0)) if spec.get("wait_quiet") else None
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0 = _cpu_busy()[0]
    w0 = time.perf_counter()
    with phases(label):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", kind],
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-8000:])
        raise SystemExit(f"measurement {label!r} failed (exit {proc.returncode})")
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter() - w0
    result = json.loads(lines[-1][len("RESULT ") :])
    # CPU of the subprocess and its descendants: what it reaped, or what the sampler saw
    # of processes it did not reap (Ray's workers are reparented when Ray shuts down)
    reaped = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    result["cpu_seconds"] = max(reaped, result.get("tree_cpu_seconds", 0.0))
    result["quiet_before"] = quiet
    del busy0, wall
    return result


def child_main(kind: str) -> None:
    spec = json.loads(sys.stdin.read())
    with TreeMemory() as mem:
        result = CHILDREN[kind](spec)
    self_ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids_ru = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["peak_pss_mb"] = mem.peak_kb / 1024
    result["peak_procs"] = mem.peak_procs
    result["peak_single_mb"] = mem.peak_single_kb / 1024
    # ru_maxrss sees this process and the descendants it reaped (not Ray's workers)
    result["maxrss_mb"] = max(self_ru, kids_ru) / 1024
    result["tree_cpu_seconds"] = mem.cpu_seconds
    result["background_cores"] = mem.other_cores
    print("RESULT " + json.dumps(result), flush=True)


# ----------------------------------------------------------------------------- report


def med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def machine_line(device: str, torch_version: str) -> str:
    cpu = platform.processor() or "cpu"
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    gpu = ""
    if device == "cuda":
        with contextlib.suppress(Exception):
            import torch

            gpu = f", GPU {torch.cuda.get_device_name(0)}"
    ffv = subprocess.run([_ffmpeg(), "-version"], capture_output=True, text=True).stdout.split(
        "\n", 1
    )[0]
    return (
        f"machine: {platform.node()}, {os.cpu_count()} cores ({cpu}), "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
        f"python {platform.python_version()}, torch {torch_version}, device {device}{gpu}; "
        f"{ffv}"
    )


def cli_config(work: Path, model: str, batch_size: int, decode_tasks: int) -> Path:
    """The reelcat.yaml of the end-to-end runs: this benchmark's model (random weights),
    sampling and batch, and the repository's synthetic 18-tag vocabulary."""
    import yaml

    path = work / "cli.yaml"
    doc = {
        "vocabulary": str(REPO / "reelcat" / "vocabularies" / "synthetic.yaml"),
        "sampling": {"mode": DEFAULT_MODE, "interval_seconds": INTERVAL},
        "model": {"name": model, "random_weights": True, "batch_size": batch_size},
        "ray": {"decode_tasks": decode_tasks},
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: tiny videos, seconds")
    ap.add_argument(
        "--work",
        default=None,
        help="folder for generated videos (cached) and outputs (default: $TMPDIR/reelcat-bench)",
    )
    ap.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="runs of each headline measurement (3: model, decode and pipeline "
        "in the default mode, naive, re-scoring)",
    )
    ap.add_argument(
        "--repeats-secondary",
        type=int,
        default=None,
        help="runs of the other sampling modes' decode and pipeline and of the "
        "memory runs (1, to keep the whole run near 10 CPU-minutes)",
    )
    ap.add_argument(
        "--videos",
        type=int,
        default=None,
        help="1080p clips to catalogue (default 3; more repeat the three "
        "encodes under new names, e.g. to feed a GPU)",
    )
    ap.add_argument(
        "--long-videos",
        type=int,
        default=20,
        help="clips in the long run: one embed_videos call over this many "
        "copies of the clips (20 = 20 minutes of video)",
    )
    ap.add_argument("--model", default="ViT-B-32")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda")
    ap.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="model batch (reelcat's default 32; 256 on cuda)",
    )
    ap.add_argument(
        "--decode-tasks",
        type=int,
        default=None,
        help="decodes in flight (reelcat's default 2; cores - 2 on cuda)",
    )
    ap.add_argument(
        "--modes",
        default=None,
        help=f"pipeline sampling modes, comma separated (default: {DEFAULT_MODE},interval)",
    )
    ap.add_argument("--rescore-rows", type=int, default=None, help="1,000,000")
    ap.add_argument(
        "--memory-interval",
        type=float,
        default=INTERVAL,
        help="sampling interval of the memory runs (default: reelcat's, 30 vs "
        "900 frames; at 4 s the 1-minute video fills half a model batch, so "
        "the ratio would measure batch fill rather than length)",
    )
    ap.add_argument(
        "--skip", default="", help="comma separated: naive,cli,memory,rescore,decode,long"
    )
    ap.add_argument("--phase-log", default=None, help="append measurement times (JSON lines)")
    ap.add_argument(
        "--wait-quiet",
        type=float,
        default=60.0,
        help="before each measurement wait up to this many seconds for other "
        "work on the machine to fall under a quarter core (0: don't)",
    )
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child_main(args.child)
        return 0

    import torch

    quick = args.quick
    device = _device(args.device)
    cpus = os.cpu_count() or 1
    repeats = args.repeats or (1 if quick else 3)
    repeats2 = args.repeats_secondary or 1
    batch_size = args.batch_size or (256 if device == "cuda" else 32)
    decode_tasks = args.decode_tasks or (max(2, cpus - 2) if device == "cuda" else 2)
    modes = args.modes.split(",") if args.modes else [DEFAULT_MODE, "interval"]
    skip = set(filter(None, args.skip.split(",")))
    work = Path(args.work or Path(tempfile.gettempdir()) / "reelcat-bench").resolve()
    work.mkdir(parents=True, exist_ok=True)
    # the actors' trace cache (reelcat.ingest.encoder) in the work folder: children and their Ray
    # workers inherit it, and a run leaves nothing behind elsewhere
    os.environ.setdefault("REELCAT_CACHE", str(work / "cache"))
    phases = Phases(args.phase_log)
    started = time.perf_counter()

    print(
        f"reelcat throughput benchmark {'(quick) ' if quick else ''}"
        f"{_dt.datetime.now().astimezone().isoformat(timespec='seconds')}"
    )
    print(machine_line(device, torch.__version__))

    # --- videos (cached)
    t = time.perf_counter()
    clips = QUICK_CLIPS if quick else FULL_CLIPS
    memory = QUICK_MEMORY if quick else FULL_MEMORY
    videos = []
    for name, src, extra, size, secs in clips:
        p = make_video(work, name, src, extra, size, secs)
        videos.append({"video_id": name, "path": str(p), "duration": probe(p)})
    distinct = len(videos)
    videos = copies(videos, args.videos or distinct)
    long_videos = [] if quick or "long" in skip else copies(videos[:distinct], args.long_videos)
    mem_videos = []
    if "memory" not in skip:
        for name, src, extra, size, secs in memory:
            p = make_video(work, name, src, extra, size, secs)
            mem_videos.append({"video_id": name, "path": str(p), "duration": probe(p)})
    video_seconds = sum(v["duration"] for v in videos)
    print(
        f"videos: {len(videos)} x {clips[0][3]} H.264 30 fps ({min(distinct, len(videos))} "
        f"distinct encodes), keyframe every 2 s, "
        f"{video_seconds:.0f} s in all; memory test: "
        + ", ".join(
            f"{v['duration']:.0f} s at {m[3]}" for v, m in zip(mem_videos, memory, strict=False)
        )
        + f" sampled every {args.memory_interval:g} s"
        + f"  (ready in {time.perf_counter() - t:.1f} s, cached in {work / 'videos'})"
    )
    print(
        f"model {args.model} random weights, batch {batch_size}; sampling every "
        f"{INTERVAL:g} s; decode tasks {decode_tasks}; repeats {repeats} (medians), "
        f"{repeats2} for other modes and the memory runs\n"
    )
    sys.stdout.flush()

    base = {
        "model": args.model,
        "device": device,
        "batch_size": batch_size,
        "repeats": repeats,
        "decode_tasks": decode_tasks,
        "videos": videos,
        "out": str(work / "out"),
        "wait_quiet": 0 if quick else args.wait_quiet,
    }
    Path(base["out"]).mkdir(exist_ok=True)
    R: dict = {}
    cpu_total = 0.0

    def child(kind, label, **extra):
        nonlocal cpu_total
        res = run_child(kind, {**base, **extra}, phases, label)
        cpu_total += res["cpu_seconds"]
        print(
            f"  .. {label}: {', '.join(f'{x:.2f}' for x in res.get('times', []))} s "
            f"(cpu {res['cpu_seconds']:.0f} s; other work on the machine meanwhile "
            f"{res['background_cores']:.2f} cores)",
            flush=True,
        )
        return res

    model_frames = 2048 if device == "cuda" else (8 if quick else 3 * batch_size)
    R["model"] = child("model", "model", model_frames=model_frames, fresh_trace=True)
    image_size = R["model"]["image_size"]
    decode_modes = list(dict.fromkeys([*modes, *MODES]))
    if "decode" not in skip:
        R["decode"] = child(
            "decode",
            "decode",
            modes=decode_modes,
            image_size=image_size,
            mode_repeats={m: repeats if m == DEFAULT_MODE else repeats2 for m in decode_modes},
        )
    for mode in modes:
        R[f"pipeline:{mode}"] = child(
            "pipeline",
            f"pipeline {mode}",
            mode=mode,
            noop=(mode == DEFAULT_MODE),
            actor_start=(mode == DEFAULT_MODE),
            repeats=repeats if mode == DEFAULT_MODE else repeats2,
        )
    if long_videos:
        # one call over a longer archive: the actor's cold start is paid once, as in a run
        # over a real archive
        R["pipeline:long"] = child(
            "pipeline",
            f"pipeline {DEFAULT_MODE} long",
            mode=DEFAULT_MODE,
            videos=long_videos,
            repeats=1,
        )
    if not quick:
        # The model again, after the pipeline runs: this machine's speed drifts by some
        # 10% over minutes, so the bound is the median over both sets of runs.
        again = child("model", "model again", model_frames=model_frames)
        R["model"]["times"] += again["times"]
    if "naive" not in skip:
        R["naive"] = child("naive", "naive")
    if "cli" not in skip:
        R["cli"] = child(
            "cli",
            "reelcat run end to end",
            cli_config=str(cli_config(work, args.model, batch_size, decode_tasks)),
            tiny_video=str(make_video(work, "tiny", "testsrc2", "", "160x90", 2)),
            long_files=[str(p) for p in distinct_copies(videos[:distinct], len(long_videos))],
        )
    if "memory" not in skip:
        for v in mem_videos:
            R[f"memory:{v['video_id']}"] = child(
                "pipeline",
                f"memory {v['video_id']}",
                mode=DEFAULT_MODE,
                videos=[v],
                repeats=repeats2,
                interval=args.memory_interval,
            )
    if "rescore" not in skip:
        rows = args.rescore_rows or (20_000 if quick else 1_000_000)
        R["rescore"] = child(
            "rescore", "rescore", rescore_rows=rows, rescore_tags=1000, rescore_chunk=32768
        )
    report(
        R,
        args,
        quick=quick,
        device=device,
        cpus=cpus,
        batch_size=batch_size,
        modes=modes,
        decode_modes=decode_modes,
        videos=videos,
        mem_videos=mem_videos,
        video_seconds=video_seconds,
        cpu_total=cpu_total,
        started=started,
        long_seconds=sum(v["duration"] for v in long_videos),
    )
    return 0


def report(
    R: dict,
    args,
    *,
    quick,
    device,
    cpus,
    batch_size,
    modes,
    decode_modes,
    videos,
    mem_videos,
    video_seconds,
    cpu_total,
    started,
    long_seconds=0.0,
) -> None:
    import torch

    model_fps = R["model"]["frames"] / med(R["model"]["times"])
    model_spf = 1 / model_fps
    naive_fps = (R["naive"]["frames"] / med(R["naive"]["times"])) if "naive" in R else None
    naive_steady_fps = (
        (
            R["naive"]["frames"]
            / med(
                [t - s for t, s in zip(R["naive"]["times"], R["naive"]["start_times"], strict=True)]
            )
        )
        if "naive" in R
        else None
    )
    rows = []

    def row(what, mode, frames, secs, vsecs, res, serial=None, naive=None, n=None):
        fps = frames / secs if secs else float("nan")
        rows.append(
            [
                what,
                mode,
                f"{frames}",
                f"{secs:.2f}",
                f"{fps:.2f}",
                f"{vsecs / secs:.1f}" if vsecs else "-",
                f"{fps / serial:.0%}" if serial else "-",
                f"{fps / naive:.2f}x" if naive else "-",
                f"{res['peak_pss_mb']:.0f}" if res else "-",
                f"{n}" if n else "-",
                f"{res['background_cores']:.2f}" if res else "-",
            ]
        )

    row(
        f"model only (tensors, batch {batch_size})",
        "-",
        R["model"]["frames"],
        med(R["model"]["times"]),
        0,
        R["model"],
        n=len(R["model"]["times"]),
    )
    serial: dict[str, float] = {}
    decode_fps: dict[str, float] = {}
    if "decode" in R:
        d = R["decode"]
        for mode in decode_modes:
            m = d["modes"][mode]
            secs = med(m["times"])
            row(
                f"decode only ({d['workers']} x ffmpeg -threads {d['threads']}, "
                f"{image_size_of(R)} px)",
                mode,
                m["frames"],
                secs,
                video_seconds,
                d,
                n=len(m["times"]),
            )
            decode_fps[mode] = m["frames"] / secs
            serial[mode] = 1 / (secs / m["frames"] + model_spf)
        for mode in decode_modes:
            f = d["modes"][mode]["frames"]
            rows.append(
                [
                    "serial bound 1/(decode+model s/frame)",
                    mode,
                    f"{f}",
                    f"{f / serial[mode]:.2f}",
                    f"{serial[mode]:.2f}",
                    f"{serial[mode] * video_seconds / f:.1f}",
                    "100%",
                    f"{serial[mode] / naive_fps:.2f}x" if naive_fps else "-",
                    "-",
                    "-",
                    "-",
                ]
            )
    pipeline_rows = [
        ("reelcat embed_videos (warm Ray)", mode, f"pipeline:{mode}", video_seconds, naive_fps)
        for mode in modes
    ]
    if "pipeline:long" in R:
        pipeline_rows.append(
            (
                f"reelcat embed_videos, one call, {long_seconds / 60:.0f} min",
                DEFAULT_MODE,
                "pipeline:long",
                long_seconds,
                naive_steady_fps,
            )
        )
    for label, mode, key, seconds, naive in pipeline_rows:
        p = R[key]
        row(
            label,
            mode,
            p["frames"],
            med(p["times"]),
            seconds,
            p,
            serial.get(mode),
            naive,
            n=len(p["times"]),
        )
    if "naive" in R:
        row(
            "naive: ffmpeg JPEG > PIL > preprocess > model",
            "fps=1/2",
            R["naive"]["frames"],
            med(R["naive"]["times"]),
            video_seconds,
            R["naive"],
            n=len(R["naive"]["times"]),
        )
    head = [
        "measurement",
        "mode",
        "frames",
        "wall s",
        "frames/s",
        "video s/s",
        "vs serial",
        "vs naive",
        "peak MB",
        "runs",
        "other load",
    ]
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    print()
    for r in [head, ["-" * w for w in widths], *rows]:
        print(
            "  ".join(
                str(c).ljust(w) if i < 2 else str(c).rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=False))
            )
        )
    print(
        "(video s/s: seconds of video catalogued per wall second = video-hours per compute-"
        "hour of this machine; peak MB: summed PSS of the measurement's processes; other "
        "load: cores other work on the machine used meanwhile)"
    )

    pipe_mode = DEFAULT_MODE if f"pipeline:{DEFAULT_MODE}" in R else modes[0]
    p = R[f"pipeline:{pipe_mode}"]
    full_run = med(p["times"])
    pipeline_fps = p["frames"] / full_run
    serial_fps = serial.get(pipe_mode)
    cold_fps = p["frames"] / (full_run + p["ray_start"])
    actor = p.get("actor_start")
    print(
        f"\nreelcat {pipe_mode}: {pipeline_fps:.2f} frames/s per embed_videos call on a "
        f"running Ray; Ray's own start-up {p['ray_start']:.1f} s comes on top "
        f"(-> {cold_fps:.2f} frames/s for a run that starts Ray)"
    )
    steady_fps = None
    if actor:
        steady_fps = p["frames"] / max(1e-9, full_run - actor)
        m = R["model"]
        how = (
            f"imports torch and loads the cached trace of the image tower, "
            f"{m['load_trace']:.1f} s of it"
            if device == "cpu"
            else "imports torch and open_clip and builds the model on the GPU"
        )
        print(
            f"  of each call's {full_run:.1f} s, {actor:.1f} s is the CLIP actor's cold start "
            f"(a fresh Ray worker {how}; measured alone); without it "
            f"{steady_fps:.2f} frames/s"
            + (f" = {steady_fps / serial_fps:.0%} of the serial bound" if serial_fps else "")
            + (
                f", {steady_fps / naive_steady_fps:.2f}x naive without its start-up "
                f"(imports + model: {med(R['naive']['start_times']):.1f} s; "
                f"{naive_steady_fps:.2f} frames/s)"
                if naive_fps
                else ""
            )
        )
        if device == "cpu":
            print(
                f"  (once per machine and model: building it through open_clip and caching "
                f"the trace took {m['build_and_trace']:.1f} s, in the first actor to start)"
            )
    long_fps = None
    if "pipeline:long" in R:
        q = R["pipeline:long"]
        long_fps = q["frames"] / med(q["times"])
        print(
            f"  one call over {long_seconds / 60:.0f} minutes of video ({q['frames']} frames, "
            f"the cold start paid once, as in a run over a real archive): "
            f"{long_fps:.2f} frames/s"
            + (f" = {long_fps / serial_fps:.0%} of the serial bound" if serial_fps else "")
            + (
                f", {long_fps / naive_steady_fps:.2f}x naive without its start-up"
                if naive_fps
                else ""
            )
        )
    noop = med(p["noop_times"]) if p.get("noop_times") else None
    if noop is not None:
        print(
            f"no-op re-run (same output, nothing decoded): {noop * 1000:.1f} ms against "
            f"{full_run:.1f} s for the full run = {noop / full_run:.3%}"
        )
    rss_ratio = None
    if len(mem_videos) == 2:
        a, b = (R[f"memory:{v['video_id']}"] for v in mem_videos)
        rss_ratio = b["peak_pss_mb"] / a["peak_pss_mb"]
        print(
            f"pipeline peak memory (sampling every {args.memory_interval:g} s): "
            f"{mem_videos[0]['duration']:.0f} s video "
            f"{a['peak_pss_mb']:.0f} MB ({a['frames']} frames, {a['peak_procs']} processes); "
            f"{mem_videos[1]['duration']:.0f} s video {b['peak_pss_mb']:.0f} MB "
            f"({b['frames']} frames, {b['peak_procs']} processes) -> {rss_ratio:.3f}x; "
            f"largest process (the CLIP actor) {a['peak_single_mb']:.0f} vs "
            f"{b['peak_single_mb']:.0f} MB; {b['frames'] / med(b['times']):.2f} frames/s "
            f"on the long one"
        )
    rescore_s = None
    if "rescore" in R:
        rs = R["rescore"]
        rescore_s = med(rs["times"])
        scale = 1_000_000 / rs["rows"]
        print(
            f"re-scoring {rs['rows']:,} stored embeddings x {rs['tags']} tags with "
            f"score_embeddings in chunks of {rs['chunk']:,}: {rescore_s:.1f} s"
            + (f" (x{scale:g} -> {rescore_s * scale:.1f} s for 1M)" if scale != 1 else "")
            + f"; peak {rs['peak_pss_mb']:.0f} MB (the 1M x 512 embeddings are 2 GB)"
        )
        rescore_s *= scale
    wall = time.perf_counter() - started
    print(f"\nbenchmark: {wall:.0f} s wall, {cpu_total:.0f} CPU-s in the measurements")

    def r3(x):
        return None if x is None else round(x, 3)

    summary = {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "quick": quick,
        "cores": cpus,
        "device": device,
        "torch": torch.__version__,
        "model": args.model,
        "batch_size": batch_size,
        "mode": pipe_mode,
        "videos": len(videos),
        "video_seconds": round(video_seconds, 1),
        "pipeline_fps": r3(pipeline_fps),
        "pipeline_fps_excl_actor_start": r3(steady_fps),
        "pipeline_fps_incl_ray_start": r3(cold_fps),
        "pipeline_video_s_per_s": round(video_seconds / full_run, 2),
        "naive_fps": r3(naive_fps),
        "model_bound_fps": r3(model_fps),
        "decode_bound_fps": r3(decode_fps.get(pipe_mode)),
        "serial_bound_fps": r3(serial_fps),
        "ratio_vs_naive": r3(pipeline_fps / naive_fps) if naive_fps else None,
        "ratio_vs_serial_bound": r3(pipeline_fps / serial_fps) if serial_fps else None,
        "ratio_vs_serial_bound_excl_actor_start": r3(steady_fps / serial_fps)
        if serial_fps and steady_fps
        else None,
        "pipeline_fps_long": r3(long_fps),
        "long_video_seconds": round(long_seconds, 1),
        "ratio_vs_serial_bound_long": r3(long_fps / serial_fps)
        if long_fps and serial_fps
        else None,
        "ratio_vs_naive_long": r3(long_fps / naive_steady_fps) if long_fps and naive_fps else None,
        "naive_fps_excl_start": r3(naive_steady_fps),
        "ratio_vs_naive_excl_start": r3(steady_fps / naive_steady_fps)
        if naive_fps and steady_fps
        else None,
        "actor_start_seconds": r3(actor),
        "encoder_build_and_trace_seconds": r3(R["model"]["build_and_trace"]),
        "ray_start_seconds": r3(p["ray_start"]),
        "pipeline_peak_mb": round(p["peak_pss_mb"]),
        "naive_peak_mb": round(R["naive"]["peak_pss_mb"]) if "naive" in R else None,
        "rss_ratio_30min_vs_1min": r3(rss_ratio),
        "noop_rerun_ratio": round(noop / full_run, 5) if noop is not None else None,
        "rescore_1m_x_1000_seconds": round(rescore_s, 2) if rescore_s else None,
        "max_other_load_cores": round(max(r.get("background_cores", 0) for r in R.values()), 2),
        "benchmark_cpu_seconds": round(cpu_total),
        "benchmark_wall_seconds": round(wall),
    }
    if "cli" in R:
        summary.update(cli_figures(R["cli"], naive_fps, serial_fps))
    for mode in modes:
        if mode != pipe_mode:
            q = R[f"pipeline:{mode}"]
            summary[f"pipeline_fps_{mode}"] = r3(q["frames"] / med(q["times"]))
            if mode in serial:
                summary[f"ratio_vs_serial_bound_{mode}"] = r3(
                    q["frames"] / med(q["times"]) / serial[mode]
                )
    print(json.dumps(summary))


def cli_figures(cli: dict, naive_fps: float | None, serial_fps: float | None = None) -> dict:
    """The end-to-end figures of `child_cli`, printed and as JSON keys."""
    fresh = cli["frames"] / med(cli["fresh"])
    warm = cli["frames"] / med(cli["warm"])
    figures = {
        "cli_fps_fresh": round(fresh, 3),
        "cli_fps_warm": round(warm, 3),
        "cli_ratio_fresh_vs_naive": round(fresh / naive_fps, 3) if naive_fps else None,
        "cli_ratio_warm_vs_naive": round(warm / naive_fps, 3) if naive_fps else None,
        "fixed_overhead_s": round(med(cli["overhead"]), 2),
        "text_prompts_per_s": round(cli["texts"] / cli["text_seconds"], 1),
        # the same warm and tiny runs on a local Ray (what in-process embedding saves)
        "cli_fps_warm_on_ray": round(cli["frames"] / med(cli["warm_ray"]), 3),
        "fixed_overhead_on_ray_s": round(med(cli["overhead_ray"]), 2),
    }
    print(
        f"\nend to end, `reelcat run` ({cli['frames']} frames; medians of "
        f"{len(cli['fresh'])}): fresh {med(cli['fresh']):.1f} s = {fresh:.2f} frames/s, "
        f"warm {med(cli['warm']):.1f} s = {warm:.2f} frames/s"
        + (f" (naive {naive_fps:.2f} frames/s)" if naive_fps else "")
        + f"; one tiny new video {med(cli['overhead']):.1f} s; text tower "
        f"{figures['text_prompts_per_s']:g} prompts/s ({cli['texts']} prompts)"
        f"\n  the same on a local Ray: warm {med(cli['warm_ray']):.1f} s = "
        f"{figures['cli_fps_warm_on_ray']:.2f} frames/s, one tiny new video "
        f"{med(cli['overhead_ray']):.1f} s"
    )
    if cli.get("long"):
        wall, frames = med([w for w, _ in cli["long"]]), cli["long"][0][1]
        figures["cli_fps_long"] = round(frames / wall, 3)
        figures["cli_ratio_long_vs_serial_bound"] = (
            round(frames / wall / serial_fps, 3) if serial_fps else None
        )
        print(
            f"  the 20-minute set ({frames} frames, distinct files), warm, median of "
            f"{len(cli['long'])}: {wall:.1f} s = "
            f"{frames / wall:.2f} frames/s"
            + (f" = {frames / wall / serial_fps:.0%} of the serial bound" if serial_fps else "")
        )
    return figures


def image_size_of(R: dict) -> int:
    return R["model"]["image_size"]


if __name__ == "__main__":
    raise SystemExit(main())
