"""The same pipeline against an existing two-node Ray cluster, reached via RAY_ADDRESS."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from .conftest import REPO, materialize

pytestmark = pytest.mark.slow


def frames_by_time(out):
    table = pq.read_table(next((out / "frames").rglob("*.parquet")).parent).to_pydict()
    return {
        (v, round(t, 3)): np.asarray(e)
        for v, t, e in zip(table["video_id"], table["t"], table["embedding"], strict=True)
    }


def test_cluster_run_equals_embedded_run(small_archive, tmp_path, ray_local):
    embedded = tmp_path / "embedded"
    materialize(small_archive, embedded)

    cluster = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "ray_cluster.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        address = cluster.stdout.readline().strip()
        assert address.startswith("127.0.0.1:"), address
        on_cluster = tmp_path / "cluster"
        # the cluster named by the config's ray.address (its REELCAT_ variable)
        env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
        env["REELCAT_RAY_ADDRESS"] = address
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "orchestration.cli",
                "run",
                "--config",
                str(REPO / "reelcat.yaml"),
                "--archive",
                str(small_archive),
                "--out",
                str(on_cluster),
            ],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    finally:
        cluster.stdin.close()
        drivers = cluster.stdout.readline().strip()
        cluster.wait(timeout=60)
    assert drivers == "1"  # the run used the cluster, not an embedded Ray
    a, b = frames_by_time(embedded), frames_by_time(on_cluster)
    assert a.keys() == b.keys() and len(a) == 20
    for key in a:
        np.testing.assert_allclose(a[key], b[key], atol=1e-5)
    assert "testsrc.mp4" in proc.stdout  # the summaries were printed
