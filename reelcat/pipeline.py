"""Decode and embed on Ray: CPU tasks decode chunks, a pool of CLIP actors embeds them.

Why tasks + an actor pool rather than Ray Data: results must land per video (one
Parquet file each, written when its last chunk is embedded), back-pressure is explicit
(a fixed number of decodes and embeds in flight, so memory stays flat however long the
archive), and a small nightly increment pays no dataset start-up cost. Frames travel
through the object store at model resolution only.

The caller owns the Ray connection: `connect` is called only when there is work.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import ray

from reelcat.config import ModelConfig, SamplingConfig
from reelcat.frames import Chunk, DecodedFrames, DecodeError, decode_chunk, plan_chunks
from reelcat.store import FRAMES, frames_dir, write_table


@dataclass
class DecodeResult:
    chunk: Chunk
    frames: DecodedFrames | None
    error: str | None
    seconds: float


@ray.remote(num_cpus=1)
def decode_task(chunk: Chunk, sampling: SamplingConfig, size: int, threads: int) -> DecodeResult:
    started = time.perf_counter()
    try:
        frames = decode_chunk(
            chunk, mode=sampling.mode, interval_seconds=sampling.interval_seconds, size=size,
            thumbnail_width=sampling.thumbnail_width,
            scene_threshold=sampling.scene_threshold, threads=threads,
        )
        return DecodeResult(chunk, frames, None, time.perf_counter() - started)
    except (DecodeError, OSError) as exc:
        return DecodeResult(chunk, None, str(exc), time.perf_counter() - started)


@ray.remote
class Embedder:
    """Holds one CLIP model; embeds decoded chunks in batches."""

    def __init__(self, model_cfg: ModelConfig, torch_threads: int):
        import torch

        from reelcat.model import ClipModel

        torch.set_num_threads(torch_threads)
        self.model = ClipModel(model_cfg)

    def image_size(self) -> int:
        return self.model.image_size

    def embed(self, result: DecodeResult) -> tuple[DecodeResult, np.ndarray | None]:
        if result.frames is None:
            return result, None
        return result, self.model.embed_pixels(result.frames.pixels)


@dataclass
class EmbedReport:
    written: list[str] = field(default_factory=list)  # video ids with a new frames file
    skipped: list[str] = field(default_factory=list)  # already present: nothing decoded
    errors: dict[str, str] = field(default_factory=dict)  # video id -> reason
    frames: int = 0
    decode_seconds: float = 0.0


def _frames_table(video_id: str, parts: list[tuple[DecodeResult, np.ndarray]],
                  model_id: str, sampling_id: str) -> pa.Table:
    parts = sorted(parts, key=lambda p: p[0].chunk.index)
    times = np.concatenate([p[0].frames.times for p in parts]) if parts else np.zeros(0)
    emb = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, 1), np.float32)
    pixels = [p[0].frames.pixels for p in parts]
    thumbs = [t for p in parts for t in p[0].frames.thumbnails]
    flat = np.concatenate(pixels).reshape(len(times), -1) if len(times) else np.zeros((0, 1))
    brightness = flat.mean(axis=1) / 255.0 if len(times) else np.zeros(0)
    contrast = flat.std(axis=1) / 255.0 if len(times) else np.zeros(0)
    n = len(times)
    dim = emb.shape[1] if n else 0
    return pa.table(
        {
            "video_id": [video_id] * n,
            "t": times,
            "frame": np.arange(n, dtype=np.int32),
            "embedding": pa.FixedSizeListArray.from_arrays(
                pa.array(emb.reshape(-1), pa.float32()), dim
            ).cast(pa.list_(pa.float32())) if n else pa.array([], pa.list_(pa.float32())),
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
    """Decode + embed every video (dicts with video_id, path, duration) lacking a file."""
    report = EmbedReport()
    target = frames_dir(out, model_id, sampling.id)
    todo = []
    for v in videos:
        if (target / f"{v['video_id']}.parquet").exists():
            report.skipped.append(v["video_id"])
        else:
            todo.append(v)
    if not todo:
        return report
    connect()
    cpus = os.cpu_count() or 1
    actors = [
        Embedder.options(num_cpus=actor_cpus, num_gpus=actor_gpus).remote(
            model_cfg, max(1, cpus if cpus <= 4 else int(actor_cpus)))
        for _ in range(embed_actors)
    ]
    size = ray.get(actors[0].image_size.remote())
    chunks = [
        c for v in todo
        for c in plan_chunks(v["video_id"], v["path"], v["duration"], sampling.chunk_seconds,
                             sampling.interval_seconds)
    ]
    remaining = {v["video_id"]: sum(1 for c in chunks if c.video_id == v["video_id"])
                 for v in todo}
    parts: dict[str, list] = {vid: [] for vid in remaining}
    decode_threads = max(1, cpus // max(1, decode_tasks))
    pending_chunks = list(reversed(chunks))
    decoding: list = []
    embedding: list = []
    next_actor = 0
    while pending_chunks or decoding or embedding:
        # Bounded in flight: decoded chunks never pile up ahead of the actors.
        while (pending_chunks and len(decoding) < decode_tasks
               and len(decoding) + len(embedding) < decode_tasks + 2 * len(actors)):
            decoding.append(decode_task.remote(pending_chunks.pop(), sampling, size,
                                               decode_threads))
        ready, _ = ray.wait(decoding + embedding, num_returns=1)
        ref = ready[0]
        if ref in decoding:
            decoding.remove(ref)
            # Hand the decoded chunk (still in the object store) to the next actor.
            embedding.append(actors[next_actor].embed.remote(ref))
            next_actor = (next_actor + 1) % len(actors)
            continue
        embedding.remove(ref)
        result, emb = ray.get(ref)
        vid = result.chunk.video_id
        report.decode_seconds += result.seconds
        if result.error is not None:
            report.errors[vid] = result.error
        elif vid not in report.errors:
            parts[vid].append((result, emb))
        remaining[vid] -= 1
        if remaining[vid] == 0:
            if vid not in report.errors:
                table = _frames_table(vid, parts[vid], model_id, sampling.id)
                write_table(table, target / f"{vid}.parquet", FRAMES)
                report.written.append(vid)
                report.frames += table.num_rows
                progress(f"embedded {table.num_rows} frames of {Path(result.chunk.path).name}")
            else:
                progress(f"failed {Path(result.chunk.path).name}: {report.errors[vid]}")
            parts.pop(vid)
    for actor in actors:
        ray.kill(actor)
    return report
