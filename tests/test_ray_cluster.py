"""The same pipeline against an existing multi-node Ray cluster, reached via the config's
ray.address; what a lost node costs (retries, or one line after ray.stall_seconds); that
a stalled step keeps the videos it embedded; and a cluster as a user runs one: workers
without reelcat and without the model's checkpoint."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from .conftest import REPO, materialize, tiny_config

pytestmark = pytest.mark.slow


def frames_by_time(out):
    table = pq.read_table(next((out / "frames").rglob("*.parquet")).parent).to_pydict()
    return {
        (v, round(t, 3)): np.asarray(e)
        for v, t, e in zip(table["video_id"], table["t"], table["embedding"], strict=True)
    }


def assert_same_frames(expected, out):
    """Every frame of every video of the reference catalogue, with its embedding."""
    a, b = frames_by_time(expected), frames_by_time(out)
    assert a.keys() == b.keys() and len(a) == 20
    for key in a:
        np.testing.assert_allclose(a[key], b[key], atol=1e-5)


class RayCluster:
    """tests/ray_cluster.py in its own process: its address, its commands, `reelcat run`
    on it, and once closed how many drivers used it and how often the CLIP actor was
    restarted."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "ray_cluster.py"), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.address = self.proc.stdout.readline().strip()
        self.drivers = self.restarts = None
        self.runs: list[subprocess.Popen] = []

    def send(self, command: str) -> str:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def run(
        self, archive, out, log, *, driver: str | None = None, cwd=REPO, **env: str
    ) -> subprocess.Popen:
        """`reelcat run` on this cluster, named by the config's ray.address (its
        REELCAT_ variable), its output in `log`.out and `log`.err; `driver`: Python code
        run instead of `python -m orchestration.cli` (given the same arguments)."""
        environ = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
        environ.update(REELCAT_RAY_ADDRESS=self.address, **env)
        with open(f"{log}.out", "w") as stdout, open(f"{log}.err", "w") as stderr:
            run = subprocess.Popen(
                [
                    sys.executable,
                    *(["-c", driver] if driver else ["-m", "orchestration.cli"]),
                    "run",
                    "--config",
                    str(REPO / "reelcat.yaml"),
                    "--archive",
                    str(archive),
                    "--out",
                    str(out),
                ],
                env=environ,
                cwd=cwd,
                stdout=stdout,
                stderr=stderr,
            )
        self.runs.append(run)
        return run

    def probe(self, code: str, cwd) -> str:
        """What `code` (the body of a Ray task, without runtime_env) returns on this
        cluster, from a driver started in `cwd` (Ray puts a driver's folder on its
        workers' sys.path)."""
        task = "\n".join("    " + line for line in code.strip().splitlines())
        script = (
            "import sys, ray\n"
            f"ray.init(address={self.address!r}, log_to_driver=False)\n"
            "@ray.remote\n"
            f"def probe():\n{task}\n"
            "print(ray.get(probe.remote()))\n"
        )
        environ = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=cwd,
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.strip().splitlines()[-1]

    def close(self) -> None:
        for run in self.runs:  # a test that failed half way leaves no run behind
            if run.poll() is None:
                run.kill()
                run.wait()
        self.proc.stdin.close()
        self.drivers = self.proc.stdout.readline().strip()
        self.restarts = int(self.proc.stdout.readline().strip() or -1)
        self.proc.wait(timeout=60)


@contextlib.contextmanager
def ray_cluster(*args: str):
    cluster = RayCluster(*args)
    try:
        assert cluster.address.startswith("127.0.0.1:"), cluster.address
        yield cluster
    finally:
        cluster.close()


def finished(proc: subprocess.Popen, log, timeout: float = 300) -> tuple[int, str, str]:
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"the run went on for more than {timeout:g} s")
    return code, Path(f"{log}.out").read_text(), Path(f"{log}.err").read_text()


def test_cluster_run_equals_embedded_run(small_archive, catalogued, tmp_path):
    on_cluster = tmp_path / "cluster"
    with ray_cluster() as cluster:
        code, stdout, stderr = finished(
            cluster.run(small_archive, on_cluster, tmp_path / "run"), tmp_path / "run"
        )
        assert code == 0, stdout[-2000:] + stderr[-3000:]
    assert cluster.drivers == "1"  # the run used the cluster, not an embedded Ray
    assert_same_frames(catalogued[0], on_cluster)
    assert "testsrc.mp4" in stdout  # the summaries were printed


def test_a_small_increment_embeds_in_process_like_on_ray(small_archive, catalogued, tmp_path):
    """No cluster configured and a few frames to sample (ray.in_process_frames): the run
    decodes and embeds in its own process, and writes the frames the local Ray wrote."""
    result = materialize(small_archive, tmp_path / "out")
    (frames,) = result.asset_materializations_for_node("video_frames")
    assert frames.metadata["embedded_on"].value == "this process"
    assert frames.metadata["frames_new"].value == 20
    assert_same_frames(catalogued[0], tmp_path / "out")


def test_losing_the_worker_node_of_the_clip_actor_still_embeds_every_video(
    small_archive, catalogued, tmp_path
):
    """A head that runs nothing (num-cpus 0, as on a real cluster) and two workers: the
    worker that holds the CLIP actor is killed while the actor starts, with decodes
    queued or running. The actor restarts on the other worker, its calls and the lost
    decodes run again, and the run finishes with every frame of every video."""
    on_cluster = tmp_path / "cluster"
    with ray_cluster("--head-cpus", "0", "--workers", "2", "--worker-cpus", "2") as cluster:
        run = cluster.run(small_archive, on_cluster, tmp_path / "run")
        assert cluster.send("kill-embedder-node").startswith("killed ")
        code, stdout, stderr = finished(run, tmp_path / "run")
        assert code == 0, stdout[-2000:] + stderr[-3000:]
    assert cluster.restarts >= 1  # the actor really died with its node
    assert_same_frames(catalogued[0], on_cluster)


def test_a_cluster_left_without_workers_fails_within_stall_seconds_then_resumes(
    small_archive, catalogued, tmp_path
):
    """The issue's case: the only node that can run the work is lost. The step fails
    `ray.stall_seconds` after the last thing finished, with one line saying what it
    waited for; when a worker is back, the next run embeds every video."""
    out = tmp_path / "out"
    with ray_cluster("--head-cpus", "0", "--workers", "1", "--worker-cpus", "2") as cluster:
        run = cluster.run(small_archive, out, tmp_path / "stalled", REELCAT_RAY_STALL_SECONDS="5")
        assert cluster.send("kill-embedder-node").startswith("killed ")
        killed = time.monotonic()
        code, stdout, stderr = finished(run, tmp_path / "stalled", timeout=90)
        took = time.monotonic() - killed
        assert code == 1, stdout[-2000:] + stderr[-3000:]
        assert took < 60
        (said,) = [ln for ln in stderr.splitlines() if ln.startswith("reelcat: step ")]
        failed = "reelcat: step video_frames failed: "
        assert said.startswith(failed + "no progress for 5 s: waiting for ")
        assert f" on the Ray cluster at {cluster.address} (pending: CPU " in said
        assert said.endswith(
            "; 1 node lost during this run; is a node down?); no video was embedded yet"
        )

        assert cluster.send("add-worker") == "added"
        code, stdout, stderr = finished(
            cluster.run(small_archive, out, tmp_path / "resumed"), tmp_path / "resumed"
        )
        assert code == 0, stdout[-2000:] + stderr[-3000:]
    assert_same_frames(catalogued[0], out)


STALLING_IN_PROCESS = """
import sys
from reelcat.config import model_id
from reelcat.ingest.pipeline import EmbeddingStalled, embed_videos
from tests.conftest import tiny_config

cfg = tiny_config(sys.argv[1], sys.argv[2])
try:
    embed_videos(
        [{"video_id": "hung", "path": sys.argv[3], "duration": 5.0}],
        out=cfg.output_dir, model_cfg=cfg.model, model_id=model_id(cfg.model),
        sampling=cfg.sampling, stall_seconds=3, in_process=True,
    )
except EmbeddingStalled as exc:
    print(f"stalled: {exc}", flush=True)
"""


def test_a_process_whose_in_process_decode_hangs_still_exits(small_archive, tmp_path):
    """ffmpeg hung on a read that never returns (a pipe nobody writes, as a dead network
    mount): the step fails after stall_seconds and the process exits, the hung decode
    left behind (its thread is a daemon), rather than waiting for it at exit."""
    hung = tmp_path / "hung.mp4"
    os.mkfifo(hung)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", STALLING_IN_PROCESS, str(small_archive)]
            + [str(tmp_path / "out"), str(hung)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=90,  # a process that waits for its hung decode never ends
        )
    finally:  # let the hung ffmpeg go: it reads an empty input and exits
        with contextlib.suppress(OSError):
            os.close(os.open(hung, os.O_WRONLY | os.O_NONBLOCK))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith(
        "stalled: no progress for 3 s: waiting for 1 decode task in this process; "
        "no video was embedded yet"
    )


@pytest.mark.parametrize("in_process", [False, True], ids=["ray", "in-process"])
def test_a_stalled_step_keeps_the_videos_embedded_before_it(
    small_archive, ray_local, tmp_path, in_process
):
    """A decode that hangs (here ffmpeg opening a pipe nobody writes, as on a dead network
    mount) stops the step after stall_seconds, on Ray or in the run's process; the three
    videos embedded before it are in a finished batch file, and only the hung one is left
    for the next run."""
    from reelcat.config import model_id
    from reelcat.ingest.pipeline import EmbeddingStalled, embed_videos
    from reelcat.ingest.step import videos_to_embed
    from reelcat.storage.layout import Layout

    hung = tmp_path / "hung.mp4"
    os.mkfifo(hung)
    videos = [
        {"video_id": "testsrc", "path": str(small_archive / "testsrc.mp4"), "duration": 9.0},
        {"video_id": "hung", "path": str(hung), "duration": 5.0},
        {"video_id": "red", "path": str(small_archive / "red.webm"), "duration": 6.0},
        {"video_id": "bars", "path": str(small_archive / "sub" / "bars.mp4"), "duration": 5.0},
    ]
    cfg = tiny_config(small_archive, tmp_path / "out")
    mid = model_id(cfg.model)
    started = time.monotonic()
    try:
        with pytest.raises(EmbeddingStalled) as stalled:
            embed_videos(
                videos,
                out=cfg.output_dir,
                model_cfg=cfg.model,
                model_id=mid,
                sampling=cfg.sampling,
                stall_seconds=8,
                in_process=in_process,
            )
    finally:  # let the hung ffmpeg go: it reads an empty input and exits
        with contextlib.suppress(OSError):
            os.close(os.open(hung, os.O_WRONLY | os.O_NONBLOCK))
    assert time.monotonic() - started < 60
    said = str(stalled.value)
    kept = "3 videos embedded before this are kept, the next run goes on from there"
    if in_process:
        assert said == f"no progress for 8 s: waiting for 1 decode task in this process; {kept}"
    else:
        assert said.startswith(
            "no progress for 8 s: waiting for 1 decode task on the Ray cluster at "
        )
        assert said.endswith(
            f"(nothing pending; a decode or embedding call runs that long, or hangs); {kept}"
        )
    frames_dir = Layout(cfg.output_dir).frames_dir(mid, cfg.sampling.id)
    (batch,) = Layout.batch_files(frames_dir)  # finished, under its final name
    kept = pq.read_table(batch).to_pydict()
    counts = {v: kept["video_id"].count(v) for v in set(kept["video_id"])}
    assert counts == {"testsrc": 9, "red": 6, "bars": 5}
    candidates = pa.Table.from_pylist(videos)
    assert [v["video_id"] for v in videos_to_embed(candidates, frames_dir)] == ["hung"]


# `reelcat run`, with the checkpoint hidden from every process, the driver's included,
# from the moment the driver has read it and put it in the object store until the
# embedding step ends (the driver reads it again afterwards, to embed the vocabulary).
HIDING_DRIVER = """
import os, runpy, sys
import reelcat.ingest.ray_work as ray_work
import reelcat.ingest.step as step

path = os.environ["REELCAT_MODEL_PRETRAINED"]
ship, embed = ray_work.ship_model, step.embed_videos

def ship_then_hide(*args, **kwargs):
    shipped = ship(*args, **kwargs)
    os.rename(path, path + ".hidden")
    print("reelcat-test: checkpoint hidden", file=sys.stderr, flush=True)
    return shipped

def embed_then_restore(*args, **kwargs):
    try:
        return embed(*args, **kwargs)
    finally:
        if os.path.exists(path + ".hidden"):
            os.rename(path + ".hidden", path)

ray_work.ship_model, step.embed_videos = ship_then_hide, embed_then_restore
sys.argv[0] = "reelcat"
runpy.run_module("orchestration.cli", run_name="__main__", alter_sys=True)
"""

IMPORT_REELCAT = """
import os
try:
    import reelcat
except ImportError as exc:
    return f"{type(exc).__name__}: {exc}"
return f"imported {reelcat.__file__} in {os.getcwd()}"
"""


def test_workers_without_reelcat_or_the_checkpoint_embed_like_the_local_run(
    small_archive, catalogued, tmp_path
):
    """Issue 18's cluster as a user runs one: a head that runs nothing, and a worker
    node started by `ray start` from an empty folder, with a Python that cannot import
    reelcat (checked first). The driver ships reelcat (runtime_env py_modules) and the
    checkpoint's bytes (object store); the checkpoint is at a path that no process can
    open once the driver has read it, and the worker's trace cache is empty, so its
    actor builds the model from those bytes. Every frame's embedding equals the
    embedded run's, under the same model id."""
    from reelcat.config import model_id

    from .conftest import tiny_config

    checkpoint = tmp_path / "driver-only" / "reelcat-tiny-clip.pt"
    checkpoint.parent.mkdir()
    bundled = tiny_config(small_archive, tmp_path).model
    shutil.copyfile(bundled.pretrained, checkpoint)
    elsewhere = tmp_path / "driver"  # not this checkout: see RayCluster.probe
    elsewhere.mkdir()
    on_cluster = tmp_path / "cluster"
    with ray_cluster(
        "--head-cpus", "0", "--workers", "0", "--bare-workers", "1", "--worker-cpus", "2"
    ) as cluster:
        assert cluster.probe(IMPORT_REELCAT, elsewhere) == (
            "ModuleNotFoundError: No module named 'reelcat'"
        )
        run = cluster.run(
            small_archive,
            on_cluster,
            tmp_path / "run",
            driver=HIDING_DRIVER,
            cwd=elsewhere,
            REELCAT_MODEL_PRETRAINED=str(checkpoint),
        )
        code, stdout, stderr = finished(run, tmp_path / "run")
        assert code == 0, stdout[-2000:] + stderr[-3000:]
    assert "reelcat-test: checkpoint hidden" in stderr
    assert cluster.drivers == "2"  # the probe and the run
    assert_same_frames(catalogued[0], on_cluster)
    table = pq.read_table(next((on_cluster / "frames").rglob("*.parquet")).parent)
    assert set(table["model_id"].to_pylist()) == {model_id(bundled)}


def test_a_video_a_node_cannot_read_fails_in_one_line_naming_the_node(ray_local, tmp_path):
    """The archive must still be at the same path on every node: a decode task where it
    is not says so in one line, with the node and the path."""
    from reelcat.config import SamplingConfig
    from reelcat.ingest.frames import Chunk
    from reelcat.ingest.ray_work import decode_task

    path = str(tmp_path / "not-mounted" / "clip.mp4")
    chunk = Chunk("clip", path, 0.0, 5.0, 0)
    result = ray_local.get(decode_task.remote(chunk, SamplingConfig(), 32, 1))
    assert result.frames is None
    node = f"{socket.gethostname()} ({ray_local.util.get_node_ip_address()})"
    assert result.error == (
        f"not readable on node {node}: {path} (no such file or directory); "
        "every Ray node needs the archive at the same path"
    )


def test_a_video_this_process_cannot_read_fails_in_one_line_without_ray(tmp_path):
    """In-process work (a small run, no Ray) says the same in one line, without a node or
    Ray's advice, and without importing Ray to say it."""
    path = str(tmp_path / "gone" / "clip.mp4")
    code = (
        "import sys\n"
        "from reelcat.config import SamplingConfig\n"
        "from reelcat.ingest.frames import Chunk\n"
        "from reelcat.ingest.workers import decode\n"
        f"result = decode(Chunk('clip', {path!r}, 0.0, 5.0, 0), SamplingConfig(), 32, 1)\n"
        "print(result.frames is None, 'ray' in sys.modules)\n"
        "print(result.error)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["True False", f"not readable: {path} (no such file or directory)"]


def test_the_reelcat_package_sent_to_a_cluster_is_small(tmp_path):
    """What RayResource ships to a cluster: the reelcat package folder without bytecode
    or checkpoints, as Ray zips it."""
    from ray._private.runtime_env.packaging import create_package

    import reelcat
    from assets.resources import RayResource

    env = RayResource().runtime_env()
    assert env["py_modules"] == [str(Path(reelcat.__file__).parent)]
    create_package(
        env["py_modules"][0],
        tmp_path / "package.zip",
        include_gitignore=True,
        include_parent_dir=True,
        excludes=env["excludes"],
    )
    import zipfile

    names = zipfile.ZipFile(tmp_path / "package.zip").namelist()
    assert "reelcat/ingest/pipeline.py" in names
    assert "reelcat/models/reelcat-tiny-clip.json" in names
    assert not [n for n in names if n.endswith((".pt", ".pyc"))]
    assert (tmp_path / "package.zip").stat().st_size < 1_000_000
    assert RayResource(ship_code=False).runtime_env() is None


def test_the_model_travels_as_bytes_and_keeps_its_id(ray_local, small_archive, tmp_path):
    """What an actor on a node without the model gets: the config file written under its
    own name, the checkpoint's bytes once asked for (after the driver's file is gone),
    the driver's model id and the same trace cache entry; nothing for an open_clip tag."""
    from reelcat.config import ModelConfig, model_id
    from reelcat.ingest.encoder import trace_path
    from reelcat.ingest.ray_work import ship_model

    from .conftest import tiny_config

    bundled = tiny_config(small_archive, tmp_path).model
    checkpoint = tmp_path / "driver" / Path(bundled.pretrained).name
    checkpoint.parent.mkdir()
    shutil.copyfile(bundled.pretrained, checkpoint)
    cfg = bundled.model_copy(update={"pretrained": str(checkpoint)})
    mid, trace = model_id(cfg), trace_path(cfg)
    shipped = ship_model(cfg, mid)
    checkpoint.unlink()

    worker = tmp_path / "worker"
    worker.mkdir()
    local, fetch_weights = shipped.unpack(cfg, str(worker))
    assert local.config_file == str(worker / Path(cfg.config_file).name)
    assert Path(local.config_file).read_bytes() == Path(cfg.config_file).read_bytes()
    assert trace_path(local, shipped.model_id) == trace
    assert not (worker / checkpoint.name).exists()  # not fetched until the model is built
    fetched = fetch_weights()
    assert fetched == str(worker / checkpoint.name)
    assert Path(fetched).read_bytes() == Path(bundled.pretrained).read_bytes()
    assert model_id(local.model_copy(update={"pretrained": fetched})) == mid

    assert ship_model(ModelConfig(), "ViT-B-32@laion2b_s34b_b79k") is None
