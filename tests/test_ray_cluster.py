"""The same pipeline against an existing multi-node Ray cluster, reached via the config's
ray.address; what a lost node costs (retries, or one line after ray.stall_seconds); and
that a stalled step keeps the videos it embedded."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from .conftest import REPO, tiny_config

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

    def run(self, archive, out, log, **env: str) -> subprocess.Popen:
        """`reelcat run` on this cluster, named by the config's ray.address (its
        REELCAT_ variable), its output in `log`.out and `log`.err."""
        environ = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
        environ.update(REELCAT_RAY_ADDRESS=self.address, **env)
        with open(f"{log}.out", "w") as stdout, open(f"{log}.err", "w") as stderr:
            run = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "orchestration.cli",
                    "run",
                    "--config",
                    str(REPO / "reelcat.yaml"),
                    "--archive",
                    str(archive),
                    "--out",
                    str(out),
                ],
                env=environ,
                cwd=REPO,
                stdout=stdout,
                stderr=stderr,
            )
        self.runs.append(run)
        return run

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


def test_a_stalled_step_keeps_the_videos_embedded_before_it(small_archive, ray_local, tmp_path):
    """A decode that hangs (here ffmpeg opening a pipe nobody writes, as on a dead network
    mount) stops the step after stall_seconds; the three videos embedded before it are in
    a finished batch file, and only the hung one is left for the next run."""
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
            )
    finally:  # let the hung ffmpeg go: it reads an empty input and exits
        with contextlib.suppress(OSError):
            os.close(os.open(hung, os.O_WRONLY | os.O_NONBLOCK))
    assert time.monotonic() - started < 60
    said = str(stalled.value)
    assert said.startswith("no progress for 8 s: waiting for 1 decode task on the Ray cluster at ")
    assert said.endswith(
        "(nothing pending; a decode or embedding call runs that long, or hangs); "
        "3 videos embedded before this are kept, the next run goes on from there"
    )
    frames_dir = Layout(cfg.output_dir).frames_dir(mid, cfg.sampling.id)
    (batch,) = Layout.batch_files(frames_dir)  # finished, under its final name
    kept = pq.read_table(batch).to_pydict()
    counts = {v: kept["video_id"].count(v) for v in set(kept["video_id"])}
    assert counts == {"testsrc": 9, "red": 6, "bars": 5}
    candidates = pa.Table.from_pylist(videos)
    assert [v["video_id"] for v in videos_to_embed(candidates, frames_dir)] == ["hung"]
