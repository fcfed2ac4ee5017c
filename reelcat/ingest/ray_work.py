"""The work of reelcat.ingest.workers (`decode`, `Embedder`) run on Ray: decode tasks
and a pool of CLIP actors, on this machine or a cluster (`RayWork`).

On a cluster (any Ray this process did not start itself) no node but the driver's needs
the model: the driver reads the checkpoint (and the model's config JSON) once and puts its
bytes in Ray's object store (`ShippedModel`); an actor fetches them only when it has to
build the model (not when its machine has the image tower's trace cached), into a private
temporary folder removed once the model is loaded, so the model id stays the driver's.
A local archive still has to be at the same path on every node: a decode task on a node
that cannot read a video says so in one line naming the node and the path.

A decode asks Ray for half a CPU, so that ffmpeg keeps a core busy beside an actor that
holds one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import ray

from reelcat.config import ModelConfig, SamplingConfig
from reelcat.ingest.frames import Chunk
from reelcat.ingest.workers import Embedder, decode, plural, torch_threads

# CPUs a decode task asks of Ray: half, so a decode runs beside an actor holding one CPU.
DECODE_TASK_CPUS = 0.5
# A lost node costs a retry, not the run: Ray runs a decode task again when the node that
# ran it (or held its result) is lost, and restarts a CLIP actor on another node, sending
# it again the calls it had not answered. Both are pure, so running one twice is harmless;
# a cluster that loses more than this is failing, and the run says so.
DECODE_TASK_RETRIES = 3
EMBED_ACTOR_RESTARTS = 3


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


decode_task = ray.remote(num_cpus=DECODE_TASK_CPUS, max_retries=DECODE_TASK_RETRIES)(decode)
RemoteEmbedder = ray.remote(Embedder)


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
            ).remote(model_cfg, torch_threads(actor_cpus), shipped)
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
