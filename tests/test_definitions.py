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


def test_definitions_load_without_the_model_stack():
    """Loading the code location (the UI, the daemon, every run) imports neither torch nor
    open_clip: only the processes that embed or build a text bank pay for them."""
    code = ("import sys, orchestration.definitions\n"
            "print(sorted(m for m in ('torch', 'open_clip') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]"


def test_asset_graph_is_pinned():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    deps = {k.to_user_string(): sorted(d.to_user_string() for d in graph.get(k).parent_keys)
            for k in graph.get_all_asset_keys()}
    assert deps["video_manifest"] == []
    assert deps["video_frames"] == ["video_manifest"]
    assert deps["tag_adaptations"] == ["video_frames"]
    assert deps["frame_tags"] == ["tag_adaptations", "video_frames"]
    assert deps["video_summaries"] == ["frame_tags"]
    assert deps["video_risk"] == ["frame_tags"]
    assert deps["catalog"] == ["frame_tags", "video_risk", "video_summaries"]
    assert graph.get(dg.AssetKey("video_frames")).group_name == "ingest"
    assert graph.get(dg.AssetKey("catalog")).group_name == "catalogue"
    assert graph.get(dg.AssetKey("video_risk")).group_name == "moderation"
    assert graph.get(dg.AssetKey("tag_adaptations")).group_name == "feedback"


def test_nightly_schedule_targets_the_refresh_job():
    from orchestration.definitions import defs

    schedule = defs.resolve_schedule_def("nightly_refresh")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.job_name == "refresh_catalog"


def test_verdict_sensor_requests_a_rescore_for_new_verdicts(tmp_path, monkeypatch):
    from orchestration.definitions import defs
    from reelcat.feedback.verdicts import Verdict, append

    monkeypatch.setenv("REELCAT_OUTPUT_DIR", str(tmp_path))
    monkeypatch.chdir(REPO)
    sensor = defs.resolve_sensor_def("verdict_sensor")
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance)
        assert isinstance(sensor(ctx), dg.SkipReason)
        append(tmp_path, [Verdict("frame", "v1", 2.0, 2.0, "fire", "no")])
        result = sensor(ctx)
        assert isinstance(result, dg.RunRequest)
        assert result.job_name in (None, "rescore_from_verdicts")
        ctx2 = dg.build_sensor_context(instance=instance, cursor=ctx.cursor)
        assert isinstance(sensor(ctx2), dg.SkipReason)  # nothing new since
