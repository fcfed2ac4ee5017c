"""What decodes and embeds chunks, and where it runs: Ray (tasks and a pool of CLIP
actors, on this machine or a cluster) or this process (threads and one encoder).

`decode` and `Embedder` are the work; `RayWork` and `LocalWork` run it behind one small
interface (submit a decode, hand its result to an embedder, wait for the first to finish),
so reelcat.ingest.pipeline schedules both the same way. `LocalWork` is for a small
increment on a machine with no cluster configured: Ray's start and stop (about 4.5 s
here) would cost more than the work, and one process decodes with ffmpeg in threads
(ffmpeg is a process of its own) beside one encoder using every core.

On a cluster (any Ray this process did not start itself) no node but the driver's needs
the model: the driver reads the checkpoint (and the model's config JSON) once and puts its
bytes in Ray's object store (`ShippedModel`); an actor fetches them only when it has to
build the model (not when its machine has the image tower's trace cached), into a private
temporary folder removed once the model is loaded, so the model id stays the driver's.
A local archive still has to be at the same path on every node: a decode task on a node
that cannot read a video says so in one line naming the node and the path.

Performance (benchmarks/throughput.py measures it):
- An encoder starts in 1.6-3.8 s here (the machine varies), not 9: it imports torch only
  and loads a cached trace of the model's image tower (reelcat.ingest.encoder), not
  open_clip and the model.
- The encoder converts and embeds one batch at a time, frees what malloc keeps (glibc's
  malloc_trim) after each chunk, and sends back embeddings, timestamps, thumbnails and
  brightness, never the pixels.
- A decode asks Ray for half a CPU, so that ffmpeg keeps a core busy beside an actor
  that holds one; the encoder's torch uses every core of a small machine and its threads
  do not spin-wait when idle, so ffmpeg and torch share the cores without waste.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass

import numpy as np
import ray

from reelcat.config import ModelConfig, SamplingConfig
from reelcat.ingest.frames import Chunk, DecodedFrames, DecodeError, decode_chunk
from reelcat.storage.remote import is_url

# CPUs a decode task asks of Ray: half, so a decode runs beside an actor holding one CPU.
DECODE_TASK_CPUS = 0.5
# A lost node costs a retry, not the run: Ray runs a decode task again when the node that
# ran it (or held its result) is lost, and restarts a CLIP actor on another node, sending
# it again the calls it had not answered. Both are pure, so running one twice is harmless;
# a cluster that loses more than this is failing, and the run says so.
DECODE_TASK_RETRIES = 3
EMBED_ACTOR_RESTARTS = 3


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


def decode(chunk: Chunk, sampling: SamplingConfig, size: int, threads: int) -> DecodeResult:
    """Decode one chunk at the model's input size (a failure is the result's `error`)."""
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

decode_task = ray.remote(num_cpus=DECODE_TASK_CPUS, max_retries=DECODE_TASK_RETRIES)(decode)
RemoteEmbedder = ray.remote(Embedder)


def _torch_threads(actor_cpus: float) -> int:
    """Threads an encoder's torch uses: every core of a small machine, else its CPUs."""
    cpus = os.cpu_count() or 1
    return max(1, cpus if cpus <= 4 else int(actor_cpus))


def plural(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


class RayWork:
    """Decode tasks and a pool of CLIP actors on the Ray that `connect` joins or starts."""

    def __init__(
        self,
        model_cfg: ModelConfig,
        model_id: str,
        *,
        embed_actors: int,
        actor_cpus: float,
        actor_gpus: float,
        connect: Callable[[], None],
        send_model: bool | None,
    ):
        connect()
        self.nodes_at_start = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
        if send_model is None:
            send_model = not _ray_started_here()
        # Read once here, held until the actors are gone (a restarted actor fetches it again).
        shipped = ship_model(model_cfg, model_id) if send_model else None
        self.actors = [
            RemoteEmbedder.options(
                num_cpus=actor_cpus,
                num_gpus=actor_gpus,
                max_restarts=EMBED_ACTOR_RESTARTS,
                max_task_retries=-1,  # a call is sent again as long as its actor restarts
            ).remote(model_cfg, _torch_threads(actor_cpus), shipped)
            for _ in range(embed_actors)
        ]
        self._next = 0
        self._decoding: set = set()

    def image_size(self):
        return self.actors[0].image_size.remote()

    def decode(self, chunk: Chunk, sampling: SamplingConfig, size: int, threads: int):
        ref = decode_task.remote(chunk, sampling, size, threads)
        self._decoding.add(ref)
        return ref

    def embed(self, decoded):
        """Hand a decoded chunk (still in the object store) to the next actor."""
        self._decoding.discard(decoded)
        actor = self.actors[self._next]
        self._next = (self._next + 1) % len(self.actors)
        return actor.embed.remote(decoded)

    def first_done(self, handles: list, timeout: float):
        ready, _ = ray.wait(handles, num_returns=1, timeout=timeout)
        return ready[0] if ready else None

    def result(self, handle):
        return ray.get(handle)

    def cancel(self, handle) -> None:
        self._decoding.discard(handle)
        ray.cancel(handle)

    def where(self) -> str:
        """Where the work runs and what it says, for a stall message."""
        try:
            where = f"on the Ray cluster at {ray.get_runtime_context().gcs_address}"
        except Exception:
            where = "on the Ray cluster"
        return f"{where} ({_cluster_says(self.nodes_at_start)})"

    def close(self) -> None:
        """Nothing left queued or running on the cluster for nobody (on a failure too)."""
        with contextlib.suppress(Exception):  # never hide the failure that got us here
            for ref in self._decoding:
                ray.cancel(ref)
            for actor in self.actors:
                ray.kill(actor)


class DaemonThreads:
    """Calls run on `workers` daemon threads, in the order submitted, each returning a
    concurrent.futures Future. Unlike a ThreadPoolExecutor's threads, which the
    interpreter joins at exit, a call that never returns (ffmpeg reading a dead network
    mount) does not keep the process from exiting once the step has failed."""

    def __init__(self, workers: int, name: str):
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._workers = workers
        for i in range(workers):
            threading.Thread(target=self._serve, name=f"{name}-{i}", daemon=True).start()

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            future, fn, args = call
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:
                    future.set_exception(exc)

    def submit(self, fn: Callable, *args) -> futures.Future:
        future: futures.Future = futures.Future()
        self._calls.put((future, fn, args))
        return future

    def shutdown(self) -> None:
        """Calls not started are cancelled; the threads end after the call they run."""
        while True:
            try:
                call = self._calls.get_nowait()
            except queue.Empty:
                break
            if call is not None:
                call[0].cancel()
        for _ in range(self._workers):
            self._calls.put(None)


class LocalWork:
    """Decodes in `decode_tasks` threads and embeds with one encoder, in this process.
    The encoder loads in its own thread while the first chunks decode."""

    def __init__(self, model_cfg: ModelConfig, *, decode_tasks: int, actor_cpus: float):
        self._decoders = DaemonThreads(decode_tasks, "reelcat-decode")
        self._encoder = DaemonThreads(1, "reelcat-embed")  # one call at a time, in order
        threads = _torch_threads(actor_cpus)
        self._embedder = self._encoder.submit(Embedder, model_cfg, threads)

    def image_size(self):
        return self._encoder.submit(lambda: self._embedder.result().image_size())

    def decode(self, chunk: Chunk, sampling: SamplingConfig, size: int, threads: int):
        return self._decoders.submit(decode, chunk, sampling, size, threads)

    def embed(self, decoded):
        return self._encoder.submit(lambda: self._embedder.result().embed(decoded.result()))

    def first_done(self, handles: list, timeout: float):
        done, _ = futures.wait(handles, timeout=timeout, return_when=futures.FIRST_COMPLETED)
        return next((h for h in handles if h in done), None)

    def result(self, handle):
        return handle.result()

    def cancel(self, handle) -> None:
        handle.cancel()

    def where(self) -> str:
        return "in this process"

    def close(self) -> None:
        self._decoders.shutdown()
        self._encoder.shutdown()


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
            said.append(f"{plural(lost, 'node')} lost during this run")
    except Exception:
        lost = 0
    if pending or lost:
        said.append("is a node down?")
    elif pending is not None:  # everything was scheduled: something runs that long
        said.append("a decode or embedding call runs that long, or hangs")
    return "; ".join(said)
