"""The scale benchmark's smallest size, run as a correctness test (its figures live in
README, measured by `python benchmarks/scale.py`; nothing here is timed)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import REPO


@pytest.mark.slow
def test_scale_benchmark_runs_end_to_end_on_its_smallest_size(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "scale.py"),
            "--sizes",
            "150",
            "--hours",
            "1,2",
            "--work",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    assert figures["search_recall_at10"] >= 0.9  # the index agrees with the exact scan
    assert figures["search_frames"] >= 150
    assert 0 < figures["catalog_files_at_0k"] <= 40  # a few batch files, not one per video
    assert figures["peak_rss_ratio_2h_vs_1h"] < 1.5
    assert "150 videos" in proc.stdout and "+1 videos" in proc.stdout
