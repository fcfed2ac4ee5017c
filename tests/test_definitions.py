"""Dagster definitions load fast, and each asset's key, deps and group are pinned."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg

from .conftest import REPO


def test_definitions_validate_from_workspace():
    proc = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate",
                           "-w", str(REPO / "workspace.yaml")], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_asset_graph_is_pinned():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    deps = {k.to_user_string(): sorted(d.to_user_string() for d in graph.get(k).parent_keys)
            for k in graph.get_all_asset_keys()}
    assert deps["video_manifest"] == []
    assert deps["video_frames"] == ["video_manifest"]
    assert deps["frame_tags"] == ["video_frames"]
    assert "frame_tags" in deps["catalog"]
    assert graph.get(dg.AssetKey("video_frames")).group_name == "ingest"
    assert graph.get(dg.AssetKey("catalog")).group_name == "catalogue"


def test_nightly_schedule_targets_the_refresh_job():
    from orchestration.definitions import defs

    schedule = defs.resolve_schedule_def("nightly_refresh")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.job_name == "refresh_catalog"
