"""Decode and embed the videos to catalogue: chunks decoded by ffmpeg, embedded by CLIP,
written per video. The work runs on Ray (decode tasks and a pool of CLIP actors, on this
machine or a cluster: reelcat.ingest.ray_work) or, for a small increment on a machine
with no cluster, in this process (reelcat.ingest.workers); this module schedules both the
same way.

Why tasks + an actor pool rather than Ray Data: results must land per video (one
Parquet file each, written when its last chunk is embedded), back-pressure is explicit
(a fixed number of decodes and embeds in flight, so memory stays flat however long the
archive), and a small nightly increment pays no dataset start-up cost. Frames travel
through the object store at model resolution only.

The caller owns the Ray connection: `connect` is called only when Ray has work.

Nothing waits forever: a lost node costs retries (decode tasks run again, CLIP actors
restart on another node and get their unanswered calls again), and when no decode or
embedding finishes for `stall_seconds` (ray.stall_seconds) the step fails with one line
saying what it waited for and what the cluster cannot run; the videos embedded until
then stay written, and the next run goes on after them.

- Decoding starts at once: the model's input size comes from its open_clip config, so
  ffmpeg runs while the encoder is still starting.
- Chunks hold at most MAX_CHUNK_FRAMES sampled frames (or one model batch), so memory
  does not grow with a video's length; nothing model-sized accumulates in the driver or
  the object store while a video completes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from reelcat.config import ModelConfig, RayConfig, SamplingConfig
from reelcat.ingest.frames import Chunk, plan_chunks
from reelcat.ingest.workers import EmbeddedChunk, LocalWork, plural
from reelcat.storage.layout import Layout
from reelcat.storage.parquet import BatchWriter, write_table
from reelcat.storage.schemas import FRAME_ERRORS, FRAMES

if TYPE_CHECKING:
    from reelcat.ingest.ray_work import RayWork

# A chunk holds at most this many sampled frames (interval, keyframes and auto sampling),
# or one model batch if that is larger: bounded memory per chunk whatever the video's
# length and the configured chunk_seconds.
MAX_CHUNK_FRAMES = 32


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
    # video id -> its frame_damage row (FRAME_ERRORS, kind 'damaged'): decoded with errors
    damaged: dict[str, dict] = field(default_factory=dict)
    frames: int = 0
    decode_seconds: float = 0.0
    files: list[Path] = field(default_factory=list)  # frames batch files written
    compacted: list[Path] = field(default_factory=list)  # merged batch files written
    embedded_on: str = ""  # "ray" or "this process" (nothing: nothing to embed)


class EmbeddingStalled(RuntimeError):
    """Nothing finished for `ray.stall_seconds` (a lost node, a cluster too small for the
    work): the step stops with one line saying what it waited for. The videos embedded
    before stay written; the next run goes on after them."""


def _note_damage(
    report: EmbedReport, frames_folder: Path, vid: str, parts: list[EmbeddedChunk], frames: int
) -> None:
    """A video whose decode logged errors: damaged when frames decoded (report.damaged,
    and its row in the frame_damage table, written before its frames so that stored
    frames never lack it), failed when none did (report.errors)."""
    count = sum(p.decode_errors for p in parts)
    if not count:
        return
    first = next(
        p.first_decode_error for p in sorted(parts, key=lambda p: p.chunk.index) if p.decode_errors
    )
    said = f"{count} decode error{'' if count == 1 else 's'}, first: {first}"
    if not frames:
        report.errors[vid] = f"no frame decoded: {said}"
        return
    row = {
        "video_id": vid,
        "path": parts[0].chunk.path,
        "error": said,
        "kind": "damaged",
        "decode_errors": count,
        "first_decode_error": first,
    }
    report.damaged[vid] = row
    _keep_damage(Layout.damage_file(frames_folder), drop={vid}, add=[row])


def _keep_damage(path: Path, *, drop: set[str], add: list[dict] | None = None) -> None:
    """Rewrite the frame_damage table at `path` without the rows of `drop` (videos decoded
    again) and with `add`; written empty where there is none, so the catalogue can always
    read it. A small file (damaged videos only), left alone when nothing changes."""
    new = pa.Table.from_pylist(add or [], schema=FRAME_ERRORS)
    if not path.exists():
        write_table(new, path, FRAME_ERRORS)
        return
    old = pq.read_table(path).select(FRAME_ERRORS.names).cast(FRAME_ERRORS)
    gone = pc.is_in(old["video_id"], value_set=pa.array(sorted(drop), pa.string()))
    if not add and not pc.any(gone).as_py():
        return
    write_table(pa.concat_tables([old.filter(pc.invert(gone)), new]), path, FRAME_ERRORS)


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
    stall_seconds: float = RayConfig.model_fields["stall_seconds"].default,
    send_model: bool | None = None,
    in_process: bool = False,
) -> EmbedReport:
    """Decode + embed the given videos (dicts with video_id, path, duration) into new
    frames batch files; a video is written once all its chunks are embedded. Raises
    EmbeddingStalled when no decode or embedding finishes for `stall_seconds`; the videos
    embedded until a failure stay written. `in_process`: decode in threads and embed in
    this process, without Ray. `send_model`: give Ray's actors the model's files through
    the object store (`ship_model`); None: when connected to a Ray this process did not
    start."""
    report = EmbedReport()
    todo = videos
    _keep_damage(
        Layout(out).frame_damage(model_id, sampling.id), drop={v["video_id"] for v in todo}
    )
    if not todo:
        return report
    writer = BatchWriter(
        Layout(out).frames_dir(model_id, sampling.id), FRAMES, max_rows=FRAMES_PER_FILE
    )
    work = None
    try:
        report.embedded_on = "this process" if in_process else "ray"
        if in_process:
            work = LocalWork(model_cfg, decode_tasks=decode_tasks, actor_cpus=actor_cpus)
        else:
            from reelcat.ingest.ray_work import RayWork  # imports Ray: only when it is used

            work = RayWork(
                model_cfg,
                model_id,
                embed_actors=embed_actors,
                actor_cpus=actor_cpus,
                actor_gpus=actor_gpus,
                connect=connect,
                send_model=send_model,
            )
        _embed_chunks(
            todo,
            writer,
            report,
            work,
            model_cfg=model_cfg,
            model_id=model_id,
            sampling=sampling,
            decode_tasks=decode_tasks,
            embedders=1 if in_process else embed_actors,
            progress=progress,
            stall_seconds=stall_seconds,
        )
    except BaseException:
        # Every video in the writer is whole (written once all its chunks are embedded):
        # finish its file, so a failed run keeps them and the next run goes on after them.
        try:
            report.files = writer.close()
        except Exception:
            report.files = writer.written  # finished files stay: they are complete
            writer.abort()
        raise
    finally:
        if work is not None:
            work.close()
    report.files = writer.close()
    return report


def _embed_chunks(
    todo: list[dict],
    writer: BatchWriter,
    report: EmbedReport,
    work: RayWork | LocalWork,
    *,
    model_cfg: ModelConfig,
    model_id: str,
    sampling: SamplingConfig,
    decode_tasks: int,
    embedders: int,
    progress: Callable[[str], None],
    stall_seconds: float,
) -> None:
    cpus = os.cpu_count() or 1
    decoding: dict = {}  # handle -> chunk, in flight
    embedding: list = []  # embed calls in flight

    def wait_one(handles: list, starting: bool = False):
        """The first of `handles` to finish; EmbeddingStalled if none does in time (each
        wait follows a completion, so this is the time without any progress)."""
        done = work.first_done(handles, stall_seconds)
        if done is not None:
            return done
        waits = [
            plural(n, what)
            for n, what in ((len(decoding), "decode task"), (len(embedding), "embedding call"))
            if n and not starting
        ] or ["the CLIP encoder to start"]
        n = len(report.written)
        kept = (
            f"{plural(n, 'video')} embedded before this {'is' if n == 1 else 'are'} "
            "kept, the next run goes on from there"
            if n
            else "no video was embedded yet"
        )
        raise EmbeddingStalled(
            f"no progress for {stall_seconds:g} s: waiting for {' and '.join(waits)} "
            f"{work.where()}; {kept}"
        )

    # Decode while the encoder starts: the input size from the model's config, checked
    # against the loaded model before the first chunk is embedded.
    size_handle = work.image_size()
    size = _configured_image_size(model_cfg)
    if size is None:
        size, size_handle = work.result(wait_one([size_handle], starting=True)), None
    max_frames = max(MAX_CHUNK_FRAMES, model_cfg.batch_size)
    chunks = [c for v in todo for c in plan_video_chunks(v, sampling, max_frames)]
    remaining = {v["video_id"]: sum(1 for c in chunks if c.video_id == v["video_id"]) for v in todo}
    parts: dict[str, list] = {vid: [] for vid in remaining}
    decode_threads = max(1, cpus // max(1, decode_tasks))
    pending_chunks = list(reversed(chunks))
    while pending_chunks or decoding or embedding:
        # Bounded in flight: decoded chunks never pile up ahead of the encoders.
        while (
            pending_chunks
            and len(decoding) < decode_tasks
            and len(decoding) + len(embedding) < decode_tasks + 2 * embedders
        ):
            chunk = pending_chunks.pop()
            decoding[work.decode(chunk, sampling, size, decode_threads)] = chunk
        handle = wait_one([*decoding, *embedding])
        if handle in decoding:
            if size_handle is not None:
                actual = work.result(wait_one([size_handle], starting=True))
                size_handle = None
                if actual != size:  # the config file did not tell: decode again
                    for h, c in decoding.items():
                        work.cancel(h)
                        pending_chunks.append(c)
                    decoding.clear()
                    size = actual
                    continue
            decoding.pop(handle)
            embedding.append(work.embed(handle))
            continue
        embedding.remove(handle)
        result: EmbeddedChunk = work.result(handle)
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
                _note_damage(report, writer.folder, vid, parts[vid], table.num_rows)
            if vid not in report.errors:
                writer.write(table)
                report.written.append(vid)
                report.frames += table.num_rows
                damage = f" ({report.damaged[vid]['error']})" if vid in report.damaged else ""
                name = Path(result.chunk.path).name
                progress(f"embedded {table.num_rows} frames of {name}{damage}")
            else:
                progress(f"failed {Path(result.chunk.path).name}: {report.errors[vid]}")
            parts.pop(vid)
