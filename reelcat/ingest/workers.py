"""The work of embedding, and running it in this process: `decode` (ffmpeg, a chunk
at a time) and `Embedder` (one CLIP image encoder), and `LocalWork`, which runs them in
threads here. `RayWork` (reelcat.ingest.ray_work) runs the same two on Ray; both sit
behind one small interface (submit a decode, hand its result to an embedder, wait for the
first to finish), so reelcat.ingest.pipeline schedules both the same way.

`LocalWork` is for a small increment on a machine with no cluster configured: Ray's
start and stop (about 4.5 s here) would cost more than the work, and one process decodes
with ffmpeg in threads (ffmpeg is a process of its own) beside one encoder using every
core. Nothing here imports Ray, so such a run never loads it.

Performance (benchmarks/throughput.py measures it):
- An encoder starts in 1.6-3.8 s here (the machine varies), not 9: it imports torch only
  and loads a cached trace of the model's image tower (reelcat.ingest.encoder), not
  open_clip and the model.
- The encoder converts and embeds one batch at a time, frees what malloc keeps (glibc's
  malloc_trim) after each chunk, and sends back embeddings, timestamps, thumbnails and
  brightness, never the pixels.
- The encoder's torch uses every core of a small machine and its threads do not
  spin-wait when idle, so ffmpeg and torch share the cores without waste.
"""

from __future__ import annotations

import os
import queue
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from reelcat.config import ModelConfig, SamplingConfig
from reelcat.ingest.frames import Chunk, DecodedFrames, DecodeError, decode_chunk
from reelcat.storage.remote import is_url

if TYPE_CHECKING:
    from reelcat.ingest.ray_work import ShippedModel


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


def _ray_node() -> str | None:
    """This process's Ray node as a person finds it (host name and address) when it is a
    Ray worker or a Ray driver; None when Ray is not in use here (in-process work)."""
    ray = sys.modules.get("ray")  # never imported for it: a small run has no Ray
    try:
        if ray is None or not ray.is_initialized():
            return None
        address = ray.util.get_node_ip_address()
    except Exception:
        address = "?"
    return f"{socket.gethostname()} ({address})"


def unreadable_here(path: str) -> str | None:
    """None if `path` is a file this process can read; else one line saying why, which on
    Ray names this node (the archive must be at the same path on every node). Checked
    without opening it, so a pipe or a hung mount behaves as before. An object storage
    URL (s3://, gs://) is not checked here: ffmpeg reads it through a signed URL."""
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
        node = _ray_node()
        if node is None:
            return f"not readable: {path} ({reason})"
        return (
            f"not readable on node {node}: {path} ({reason}); every Ray node needs the "
            "archive at the same path"
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


def torch_threads(actor_cpus: float) -> int:
    """Threads an encoder's torch uses: every core of a small machine, else its CPUs."""
    cpus = os.cpu_count() or 1
    return max(1, cpus if cpus <= 4 else int(actor_cpus))


def plural(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


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
        threads = torch_threads(actor_cpus)
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
