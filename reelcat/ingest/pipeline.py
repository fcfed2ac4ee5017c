"""Decode and embed on Ray: CPU tasks decode chunks, a pool of CLIP actors embeds them.

Why tasks + an actor pool rather than Ray Data: results must land per video (one
Parquet file each, written when its last chunk is embedded), back-pressure is explicit
(a fixed number of decodes and embeds in flight, so memory stays flat however long the
archive), and a small nightly increment pays no dataset start-up cost. Frames travel
through the object store at model resolution only.

The caller owns the Ray connection: `connect` is called only when there is work.

On a cluster (any Ray this process did not start itself) no node but the driver's needs
the model: the driver reads the checkpoint (and the model's config JSON) once and puts its
bytes in Ray's object store (`ShippedModel`); an actor fetches them only when it has to
build the model (not when its machine has the image tower's trace cached), into a private
temporary folder removed once the model is loaded, so the model id stays the driver's.
A local archive still has to be at the same path on every node: a decode task on a node
that cannot read a video says so in one line naming the node and the path.

Nothing waits forever: a lost node costs retries (decode tasks run again, CLIP actors
restart on another node and get their unanswered calls again), and when no decode or
embedding finishes for `stall_seconds` (ray.stall_seconds) the step fails with one line
saying what it waited for and what the cluster cannot run; the videos embedded until
then stay written, and the next run goes on after them.

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

import contextlib
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import ray

from reelcat.config import ModelConfig, RayConfig, SamplingConfig
from reelcat.ingest.frames import Chunk, DecodedFrames, DecodeError, decode_chunk, plan_chunks
from reelcat.storage.layout import Layout
from reelcat.storage.parquet import BatchWriter, write_table
from reelcat.storage.remote import is_url
from reelcat.storage.schemas import FRAME_ERRORS, FRAMES

# A chunk holds at most this many sampled frames (interval, keyframes and auto sampling),
# or one model batch if that is larger: bounded memory per chunk whatever the video's
# length and the configured chunk_seconds.
MAX_CHUNK_FRAMES = 32
# CPUs a decode task asks of Ray: half, so a decode runs beside an actor holding one CPU.
DECODE_TASK_CPUS = 0.5
# A lost node costs a retry, not the run: Ray runs a decode task again when the node that
# ran it (or held its result) is lost, and restarts a CLIP actor on another node, sending
# it again the calls it had not answered. Both are pure, so running one twice is harmless;
# a cluster that loses more than this is failing, and the run says so.
DECODE_TASK_RETRIES = 3
EMBED_ACTOR_RESTARTS = 3


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
    decode_errors: int = 0  # errors ffmpeg logged decoding the chunk (a damaged file)
    first_decode_error: str | None = None


def _pixel_stats(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame brightness and contrast, a few frames at a time (float64 temporaries)."""
    n = len(pixels)
    flat = pixels.reshape(n, int(np.prod(pixels.shape[1:])))  # also a chunk with no frame
    brightness, contrast = np.zeros(n), np.zeros(n)
    for i in range(0, n, 8):
        brightness[i : i + 8] = flat[i : i + 8].mean(axis=1) / 255.0
        contrast[i : i + 8] = flat[i : i + 8].std(axis=1) / 255.0
    return brightness, contrast


def _node_name() -> str:
    """This Ray node as a person finds it: host name and address."""
    try:
        address = ray.util.get_node_ip_address()
    except Exception:
        address = "?"
    return f"{socket.gethostname()} ({address})"


def unreadable_here(path: str) -> str | None:
    """None if `path` is a file this process can read; else one line naming this node and
    the path (the archive must be at the same path on every node). Checked without
    opening it, so a pipe or a hung mount behaves as before. An object storage URL
    (s3://, gs://) is not checked here: ffmpeg reads it through a signed URL."""
    if is_url(path):
        return None
    try:
        if os.path.isdir(path):
            raise IsADirectoryError(21, "is a folder")
        os.stat(path)
        if not os.access(path, os.R_OK):
            raise PermissionError(13, "permission denied")
        return None
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        return (
            f"not readable on node {_node_name()}: {path} ({reason}); every Ray node needs "
            "the archive at the same path"
        )


@ray.remote(num_cpus=DECODE_TASK_CPUS, max_retries=DECODE_TASK_RETRIES)
def decode_task(chunk: Chunk, sampling: SamplingConfig, size: int, threads: int) -> DecodeResult:
    started = time.perf_counter()
    unreadable = unreadable_here(chunk.path)
    if unreadable is not None:
        return DecodeResult(chunk, None, unreadable, time.perf_counter() - started)
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


@dataclass
class ShippedModel:
    """The model's files as the driver read them, for actors on nodes that lack them.

    The config JSON (small) travels inline; the checkpoint is an object in Ray's object
    store, held here as a reference inside this object, so Ray does not fetch it with the
    actor's arguments: the actor fetches it only if it builds the model (`unpack`)."""

    model_id: str  # as the driver computed it from the checkpoint's bytes
    config_name: str | None = None  # the config file's name (open_clip keys on it)
    config_json: bytes | None = None
    checkpoint_name: str | None = None  # the checkpoint file's name (the id keeps its stem)
    checkpoint: ray.ObjectRef | None = None  # its bytes, a uint8 array

    def unpack(self, cfg: ModelConfig, folder: str) -> tuple[ModelConfig, Callable | None]:
        """`cfg` with the config file written into `folder`, and the callable that writes
        the checkpoint there when the model must be built (None when nothing was sent)."""
        if self.config_json is not None:
            path = os.path.join(folder, self.config_name)
            with open(path, "wb") as fh:
                fh.write(self.config_json)
            cfg = cfg.model_copy(update={"config_file": path})
        if self.checkpoint is None:
            return cfg, None

        def fetch_weights() -> str:
            path = os.path.join(folder, self.checkpoint_name)
            ray.get(self.checkpoint).tofile(path)  # read-only view of the object store
            return path

        return cfg, fetch_weights


def ship_model(model_cfg: ModelConfig, model_id: str) -> ShippedModel | None:
    """Read the model's config JSON and local checkpoint once and put the checkpoint in
    Ray's object store, for actors on nodes without them (None: nothing to send, the
    weights are an open_clip tag or random)."""
    shipped = ShippedModel(model_id)
    if model_cfg.config_file:
        with open(model_cfg.config_file, "rb") as fh:
            shipped.config_json = fh.read()
        shipped.config_name = os.path.basename(model_cfg.config_file)
    if not model_cfg.random_weights and os.path.isfile(model_cfg.pretrained or ""):
        # A uint8 array, not bytes: it is stored without a pickled copy, and an actor
        # reads it from shared memory without one either.
        weights = np.fromfile(model_cfg.pretrained, dtype=np.uint8)
        shipped.checkpoint = ray.put(weights)
        del weights
        shipped.checkpoint_name = os.path.basename(model_cfg.pretrained)
    if shipped.config_json is None and shipped.checkpoint is None:
        return None
    return shipped


def _ray_started_here() -> bool:
    """Whether the Ray this process uses is one it started itself (ray.init "local"): its
    workers run on this machine and see its files. False for an existing cluster, a Ray
    client connection, or when Ray does not say (then the model is sent: always works)."""
    try:
        node = ray._private.worker._global_node
        return bool(node is not None and node.ray_init_cluster)
    except Exception:
        return False


@ray.remote
class Embedder:
    """Holds one CLIP image encoder; embeds decoded chunks in batches."""

    def __init__(
        self, model_cfg: ModelConfig, torch_threads: int, shipped: ShippedModel | None = None
    ):
        # Idle OpenMP threads sleep instead of spinning: ffmpeg shares these cores.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import torch

        from reelcat.ingest.encoder import load_image_encoder

        torch.set_num_threads(torch_threads)
        if shipped is None:
            self.encoder = load_image_encoder(model_cfg)
            return
        # The driver's files, written here only for loading: a private folder, removed
        # once the model is in memory.
        folder = tempfile.mkdtemp(prefix="reelcat-model-")
        try:
            cfg, fetch_weights = shipped.unpack(model_cfg, folder)
            self.encoder = load_image_encoder(
                cfg, known_id=shipped.model_id, fetch_weights=fetch_weights
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)

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
            result.frames.decode_errors,
            result.frames.first_decode_error,
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
    # video id -> its frame_damage row (FRAME_ERRORS, kind 'damaged'): decoded with errors
    damaged: dict[str, dict] = field(default_factory=dict)
    frames: int = 0
    decode_seconds: float = 0.0
    files: list[Path] = field(default_factory=list)  # frames batch files written
    compacted: list[Path] = field(default_factory=list)  # merged batch files written


class EmbeddingStalled(RuntimeError):
    """Nothing finished on Ray for `ray.stall_seconds` (a lost node, a cluster too small
    for the work): the step stops with one line saying what it waited for. The videos
    embedded before stay written; the next run goes on after them."""


def _plural(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _cluster_says(nodes_at_start: set[str]) -> str:
    """What the cluster cannot run (its pending resource demands) and which of its nodes
    died during the run, as far as Ray tells: best effort, for the stall message."""
    said = []
    try:
        from ray.autoscaler.v2.sdk import get_cluster_status

        status = get_cluster_status(ray.get_runtime_context().gcs_address, timeout=5)
        pending = [
            " ".join(f"{k} {v:g}" for k, v in b.bundle.items() if not k.startswith("node:"))
            + (f" x{b.count}" if b.count > 1 else "")
            for d in status.resource_demands.ray_task_actor_demand
            for b in d.bundles_by_count
        ]
        said.append(f"pending: {', '.join(pending)}" if pending else "nothing pending")
    except Exception:  # a Ray client connection, an older GCS: say what is known
        pending = None
    try:
        alive = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
        lost = len(nodes_at_start - alive)
        if lost:
            said.append(f"{_plural(lost, 'node')} lost during this run")
    except Exception:
        lost = 0
    if pending or lost:
        said.append("is a node down?")
    elif pending is not None:  # everything was scheduled: something runs that long
        said.append("a decode or embedding call runs that long, or hangs")
    return "; ".join(said)


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
) -> EmbedReport:
    """Decode + embed the given videos (dicts with video_id, path, duration) into new
    frames batch files; a video is written once all its chunks are embedded. Raises
    EmbeddingStalled when no decode or embedding finishes for `stall_seconds`; the videos
    embedded until a failure stay written. `send_model`: give the actors the model's files
    through the object store (`ship_model`); None: when connected to a Ray this process
    did not start."""
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
            stall_seconds=stall_seconds,
            send_model=send_model,
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
    stall_seconds: float,
    send_model: bool | None,
) -> None:
    connect()
    nodes_at_start = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    cpus = os.cpu_count() or 1
    if send_model is None:
        send_model = not _ray_started_here()
    # Read once here, held until the actors are gone (a restarted actor fetches it again).
    shipped = ship_model(model_cfg, model_id) if send_model else None
    actors = [
        Embedder.options(
            num_cpus=actor_cpus,
            num_gpus=actor_gpus,
            max_restarts=EMBED_ACTOR_RESTARTS,
            max_task_retries=-1,  # a call is sent again as long as its actor restarts
        ).remote(model_cfg, max(1, cpus if cpus <= 4 else int(actor_cpus)), shipped)
        for _ in range(embed_actors)
    ]
    decoding: dict = {}  # object ref -> chunk, in flight
    embedding: list = []  # embed calls in flight
    try:
        _embed_chunks(
            todo,
            writer,
            report,
            actors,
            decoding,
            embedding,
            model_cfg=model_cfg,
            model_id=model_id,
            sampling=sampling,
            decode_tasks=decode_tasks,
            progress=progress,
            stall_seconds=stall_seconds,
            nodes_at_start=nodes_at_start,
        )
    finally:  # on a failure too: nothing left queued or running on the cluster for nobody
        with contextlib.suppress(Exception):  # never hide the failure that got us here
            for ref in decoding:
                ray.cancel(ref)
            for actor in actors:
                ray.kill(actor)


def _embed_chunks(
    todo: list[dict],
    writer: BatchWriter,
    report: EmbedReport,
    actors: list,
    decoding: dict,
    embedding: list,
    *,
    model_cfg: ModelConfig,
    model_id: str,
    sampling: SamplingConfig,
    decode_tasks: int,
    progress: Callable[[str], None],
    stall_seconds: float,
    nodes_at_start: set[str],
) -> None:
    cpus = os.cpu_count() or 1

    def wait_one(refs: list, starting: bool = False):
        """The first of `refs` to finish; EmbeddingStalled if none does in time (each
        wait follows a completion, so this is the time without any progress)."""
        ready, _ = ray.wait(refs, num_returns=1, timeout=stall_seconds)
        if ready:
            return ready[0]
        waits = [
            _plural(n, what)
            for n, what in ((len(decoding), "decode task"), (len(embedding), "embedding call"))
            if n and not starting
        ] or ["the CLIP actor to start"]
        try:
            where = f"the Ray cluster at {ray.get_runtime_context().gcs_address}"
        except Exception:
            where = "the Ray cluster"
        done = len(report.written)
        kept = (
            f"{_plural(done, 'video')} embedded before this {'is' if done == 1 else 'are'} "
            "kept, the next run goes on from there"
            if done
            else "no video was embedded yet"
        )
        raise EmbeddingStalled(
            f"no progress for {stall_seconds:g} s: waiting for {' and '.join(waits)} on "
            f"{where} ({_cluster_says(nodes_at_start)}); {kept}"
        )

    # Decode while the actors start: the input size from the model's config, checked
    # against the loaded model before the first chunk is embedded.
    size_ref = actors[0].image_size.remote()
    size = _configured_image_size(model_cfg)
    if size is None:
        size, size_ref = ray.get(wait_one([size_ref], starting=True)), None
    max_frames = max(MAX_CHUNK_FRAMES, model_cfg.batch_size)
    chunks = [c for v in todo for c in plan_video_chunks(v, sampling, max_frames)]
    remaining = {v["video_id"]: sum(1 for c in chunks if c.video_id == v["video_id"]) for v in todo}
    parts: dict[str, list] = {vid: [] for vid in remaining}
    decode_threads = max(1, cpus // max(1, decode_tasks))
    pending_chunks = list(reversed(chunks))
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
        ref = wait_one([*decoding, *embedding])
        if ref in decoding:
            if size_ref is not None:
                actual, size_ref = ray.get(wait_one([size_ref], starting=True)), None
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
