"""Decode and embed on Ray: CPU tasks decode chunks, a pool of CLIP actors embeds them.

Why tasks + an actor pool rather than Ray Data: results must land per video (one
Parquet file each, written when its last chunk is embedded), back-pressure is explicit
(a fixed number of decodes and embeds in flight, so memory stays flat however long the
archive), and a small nightly increment pays no dataset start-up cost. Frames travel
through the object store at model resolution only.

The caller owns the Ray connection: `connect` is called only when there is work.

Performance (benchmarks/throughput.py measures it):
- An actor starts in about 3.8 s here, not 9: it imports torch only and loads a cached
  trace of the model's image tower (reelcat.ingest.encoder), not open_clip and the model.
- Decoding starts at once: the model's input size comes from its open_clip config, so
  ffmpeg runs while the actor is still starting.
- Chunks hold at most MAX_CHUNK_FRAMES sampled frames (or one model batch), so memory
  does not grow with a video's length; the actor converts and embeds one batch at a time,
  frees what malloc keeps (glibc's malloc_trim) after each chunk, and sends
  back embeddings, timestamps, thumbnails and brightness, never the pixels: nothing
  model-sized accumulates in the driver or the object store while a video completes.
- A decode asks Ray for half a CPU, so that ffmpeg keeps a core busy beside an actor
  that holds one; the actor's torch uses every core of a small machine and its threads
  do not spin-wait when idle, so ffmpeg and torch share the cores without waste.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import ray

from reelcat.config import ModelConfig, SamplingConfig
from reelcat.ingest.frames import Chunk, DecodedFrames, DecodeError, decode_chunk, plan_chunks
from reelcat.storage.layout import Layout
from reelcat.storage.parquet import BatchWriter
from reelcat.storage.schemas import FRAMES

# A chunk holds at most this many sampled frames (interval, keyframes and auto sampling),
# or one model batch if that is larger: bounded memory per chunk whatever the video's
# length and the configured chunk_seconds.
MAX_CHUNK_FRAMES = 32
# CPUs a decode task asks of Ray: half, so a decode runs beside an actor holding one CPU.
DECODE_TASK_CPUS = 0.5


def plan_video_chunks(
    video: dict, sampling: SamplingConfig, max_frames: int = MAX_CHUNK_FRAMES
) -> list[Chunk]:
    """The chunks embed_videos decodes for one video (dict with video_id, path, duration):
    at most `max_frames` sampled frames each, except in scene sampling, where a chunk's
    start forces a frame, so chunks keep the configured length."""
    chunk_seconds = sampling.chunk_seconds
    if sampling.mode != "scene":
        chunk_seconds = min(chunk_seconds, max_frames * sampling.interval_seconds)
    return plan_chunks(
        video["video_id"],
        video["path"],
        video["duration"],
        chunk_seconds,
        sampling.interval_seconds,
    )


@dataclass
class DecodeResult:
    chunk: Chunk
    frames: DecodedFrames | None
    error: str | None
    seconds: float
    brightness: np.ndarray | None = None  # per frame, mean pixel 0..1
    contrast: np.ndarray | None = None  # per frame, pixel std 0..1


@dataclass
class EmbeddedChunk:
    """What comes back to the driver for one chunk: everything but the pixels."""

    chunk: Chunk
    times: np.ndarray | None
    thumbnails: list[bytes]
    brightness: np.ndarray | None
    contrast: np.ndarray | None
    embeddings: np.ndarray | None
    error: str | None
    seconds: float


def _pixel_stats(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame brightness and contrast, a few frames at a time (float64 temporaries)."""
    n = len(pixels)
    flat = pixels.reshape(n, -1)
    brightness, contrast = np.zeros(n), np.zeros(n)
    for i in range(0, n, 8):
        brightness[i : i + 8] = flat[i : i + 8].mean(axis=1) / 255.0
        contrast[i : i + 8] = flat[i : i + 8].std(axis=1) / 255.0
    return brightness, contrast


@ray.remote(num_cpus=DECODE_TASK_CPUS)
def decode_task(chunk: Chunk, sampling: SamplingConfig, size: int, threads: int) -> DecodeResult:
    started = time.perf_counter()
    try:
        frames = decode_chunk(
            chunk,
            mode=sampling.mode,
            interval_seconds=sampling.interval_seconds,
            size=size,
            thumbnail_width=sampling.thumbnail_width,
            scene_threshold=sampling.scene_threshold,
            threads=threads,
        )
        brightness, contrast = _pixel_stats(frames.pixels)
        _release_free_memory()
        return DecodeResult(
            chunk, frames, None, time.perf_counter() - started, brightness, contrast
        )
    except (DecodeError, OSError) as exc:
        return DecodeResult(chunk, None, str(exc), time.perf_counter() - started)


@ray.remote
class Embedder:
    """Holds one CLIP image encoder; embeds decoded chunks in batches."""

    def __init__(self, model_cfg: ModelConfig, torch_threads: int):
        # Idle OpenMP threads sleep instead of spinning: ffmpeg shares these cores.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import torch

        from reelcat.ingest.encoder import load_image_encoder

        torch.set_num_threads(torch_threads)
        self.encoder = load_image_encoder(model_cfg)

    def image_size(self) -> int:
        return self.encoder.image_size

    def embed(self, result: DecodeResult) -> EmbeddedChunk:
        if result.frames is None:
            return EmbeddedChunk(
                result.chunk, None, [], None, None, None, result.error, result.seconds
            )
        pixels = result.frames.pixels
        size = self.encoder.image_size
        if pixels.shape[1:3] != (size, size):
            raise ValueError(f"frames of {pixels.shape[1]} px for a model of {size} px")
        emb = self.encoder.embed_pixels(pixels)  # float tensors of one batch at a time
        _release_free_memory()
        return EmbeddedChunk(
            result.chunk,
            result.frames.times,
            result.frames.thumbnails,
            result.brightness,
            result.contrast,
            emb,
            None,
            result.seconds,
        )


def _release_free_memory() -> None:
    """Hand memory that malloc holds free back to the OS (glibc), so that a long video
    leaves a process no bigger than a short one does."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            import ctypes

            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim = None


def _configured_image_size(model_cfg: ModelConfig) -> int | None:
    """The model's input size from its open_clip config file, without importing torch."""
    try:
        path = model_cfg.config_file
        if not path:
            import importlib.util

            spec = importlib.util.find_spec("open_clip")
            if spec is None or not spec.submodule_search_locations:
                return None
            path = os.path.join(
                spec.submodule_search_locations[0], "model_configs", f"{model_cfg.name}.json"
            )
        with open(path) as fh:
            cfg = json.load(fh)
        size = (cfg.get("preprocess_cfg") or {}).get("size") or cfg["vision_cfg"]["image_size"]
        return int(size[0] if isinstance(size, (list, tuple)) else size)
    except (OSError, ValueError, KeyError, TypeError):
        return None


FRAMES_PER_FILE = 32768  # a frames batch file: a few hundred MB at most with ViT-B-32


@dataclass
class EmbedReport:
    written: list[str] = field(default_factory=list)  # video ids embedded this time
    skipped: int = 0  # videos already embedded: nothing decoded (counted by the caller)
    errors: dict[str, str] = field(default_factory=dict)  # video id -> reason
    frames: int = 0
    decode_seconds: float = 0.0
    files: list[Path] = field(default_factory=list)  # frames batch files written
    compacted: list[Path] = field(default_factory=list)  # merged batch files written


def _frames_table(
    video_id: str, parts: list[EmbeddedChunk], model_id: str, sampling_id: str
) -> pa.Table:
    parts = sorted(parts, key=lambda p: p.chunk.index)
    times = np.concatenate([p.times for p in parts]) if parts else np.zeros(0)
    emb = np.concatenate([p.embeddings for p in parts]) if parts else np.zeros((0, 1), np.float32)
    thumbs = [t for p in parts for t in p.thumbnails]
    brightness = np.concatenate([p.brightness for p in parts]) if len(times) else np.zeros(0)
    contrast = np.concatenate([p.contrast for p in parts]) if len(times) else np.zeros(0)
    n = len(times)
    dim = emb.shape[1] if n else 0
    return pa.table(
        {
            "video_id": [video_id] * n,
            "t": times,
            "frame": np.arange(n, dtype=np.int32),
            "embedding": pa.FixedSizeListArray.from_arrays(
                pa.array(emb.reshape(-1), pa.float32()), dim
            ).cast(pa.list_(pa.float32()))
            if n
            else pa.array([], pa.list_(pa.float32())),
            "brightness": brightness.astype(np.float32),
            "contrast": contrast.astype(np.float32),
            "thumbnail": thumbs,
            "model_id": [model_id] * n,
            "sampling_id": [sampling_id] * n,
        },
        schema=FRAMES,
    )


def embed_videos(
    videos: list[dict],
    *,
    out: Path,
    model_cfg: ModelConfig,
    model_id: str,
    sampling: SamplingConfig,
    decode_tasks: int = 2,
    embed_actors: int = 1,
    actor_cpus: float = 1.0,
    actor_gpus: float = 0.0,
    progress: Callable[[str], None] = lambda _msg: None,
    connect: Callable[[], None] = lambda: None,
) -> EmbedReport:
    """Decode + embed the given videos (dicts with video_id, path, duration) into new
    frames batch files; a video is written once all its chunks are embedded."""
    report = EmbedReport()
    todo = videos
    if not todo:
        return report
    writer = BatchWriter(
        Layout(out).frames_dir(model_id, sampling.id), FRAMES, max_rows=FRAMES_PER_FILE
    )
    try:
        _embed(
            todo,
            writer,
            report,
            model_cfg=model_cfg,
            model_id=model_id,
            sampling=sampling,
            decode_tasks=decode_tasks,
            embed_actors=embed_actors,
            actor_cpus=actor_cpus,
            actor_gpus=actor_gpus,
            progress=progress,
            connect=connect,
        )
    except BaseException:
        report.files = writer.written  # finished files stay: they are complete
        writer.abort()
        raise
    report.files = writer.close()
    return report


def _embed(
    todo: list[dict],
    writer: BatchWriter,
    report: EmbedReport,
    *,
    model_cfg: ModelConfig,
    model_id: str,
    sampling: SamplingConfig,
    decode_tasks: int,
    embed_actors: int,
    actor_cpus: float,
    actor_gpus: float,
    progress: Callable[[str], None],
    connect: Callable[[], None],
) -> None:
    connect()
    cpus = os.cpu_count() or 1
    actors = [
        Embedder.options(num_cpus=actor_cpus, num_gpus=actor_gpus).remote(
            model_cfg, max(1, cpus if cpus <= 4 else int(actor_cpus))
        )
        for _ in range(embed_actors)
    ]
    # Decode while the actors start: the input size from the model's config, checked
    # against the loaded model before the first chunk is embedded.
    size_ref = actors[0].image_size.remote()
    size = _configured_image_size(model_cfg)
    if size is None:
        size, size_ref = ray.get(size_ref), None
    max_frames = max(MAX_CHUNK_FRAMES, model_cfg.batch_size)
    chunks = [c for v in todo for c in plan_video_chunks(v, sampling, max_frames)]
    remaining = {v["video_id"]: sum(1 for c in chunks if c.video_id == v["video_id"]) for v in todo}
    parts: dict[str, list] = {vid: [] for vid in remaining}
    decode_threads = max(1, cpus // max(1, decode_tasks))
    pending_chunks = list(reversed(chunks))
    decoding: dict = {}  # object ref -> chunk
    embedding: list = []
    next_actor = 0
    while pending_chunks or decoding or embedding:
        # Bounded in flight: decoded chunks never pile up ahead of the actors.
        while (
            pending_chunks
            and len(decoding) < decode_tasks
            and len(decoding) + len(embedding) < decode_tasks + 2 * len(actors)
        ):
            chunk = pending_chunks.pop()
            decoding[decode_task.remote(chunk, sampling, size, decode_threads)] = chunk
        ready, _ = ray.wait([*decoding, *embedding], num_returns=1)
        ref = ready[0]
        if ref in decoding:
            if size_ref is not None:
                actual, size_ref = ray.get(size_ref), None
                if actual != size:  # the config file did not tell: decode again
                    for r, c in decoding.items():
                        ray.cancel(r)
                        pending_chunks.append(c)
                    decoding.clear()
                    size = actual
                    continue
            decoding.pop(ref)
            # Hand the decoded chunk (still in the object store) to the next actor.
            embedding.append(actors[next_actor].embed.remote(ref))
            next_actor = (next_actor + 1) % len(actors)
            continue
        embedding.remove(ref)
        result: EmbeddedChunk = ray.get(ref)
        vid = result.chunk.video_id
        report.decode_seconds += result.seconds
        if result.error is not None:
            report.errors[vid] = result.error
        elif vid not in report.errors:
            parts[vid].append(result)
        remaining[vid] -= 1
        if remaining[vid] == 0:
            if vid not in report.errors:
                table = _frames_table(vid, parts[vid], model_id, sampling.id)
                writer.write(table)
                report.written.append(vid)
                report.frames += table.num_rows
                progress(f"embedded {table.num_rows} frames of {Path(result.chunk.path).name}")
            else:
                progress(f"failed {Path(result.chunk.path).name}: {report.errors[vid]}")
            parts.pop(vid)
    for actor in actors:
        ray.kill(actor)
