"""Dagster definitions load fast, and each asset's key, deps and group are pinned."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg

from .conftest import REPO


def test_definitions_validate_from_workspace():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster",
            "definitions",
            "validate",
            "-w",
            str(REPO / "workspace.yaml"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_definitions_load_without_the_model_stack():
    """Loading the code location (the UI, the daemon, every run) imports neither torch nor
    open_clip: only the processes that embed or build a text bank pay for them. Nor Ray
    (a small increment embeds without it, reelcat.ingest.workers) nor pandas (pyarrow
    imports it on its first array when it is installed; nothing here uses it): each is a
    fixed cost of every run (benchmarks/throughput.py `fixed_overhead_s`)."""
    code = (
        "import sys, orchestration.definitions, orchestration.cli\n"
        "import pyarrow as pa; pa.array(['a'])\n"
        "print(sorted(m for m in ('torch', 'open_clip', 'ray', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"


def test_asset_graph_is_pinned():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    deps = {
        k.to_user_string(): sorted(d.to_user_string() for d in graph.get(k).parent_keys)
        for k in graph.get_all_asset_keys()
    }
    learned = ["verdict_log", "video_frames"]
    scored = ["frame_tags", "tag_thresholds", "verdict_log", "video_frames"]
    assert deps == {
        "video_manifest": [],
        "video_frames": ["video_manifest"],
        "verdict_log": [],  # people write it, not a run
        "tag_adaptations": learned,
        "tag_thresholds": learned,
        "frame_tags": ["tag_adaptations", "video_frames"],
        "tag_segments": scored,
        "video_tags": scored,
        "video_summaries": scored,
        "moderation_timeline": scored,
        "moderation_segments": scored,
        "video_risk": scored,
        "frame_index": ["video_frames"],
        # the catalogue reads every table (the adaptation through frame_tags)
        "catalog": sorted(set(deps) - {"catalog", "tag_adaptations", "frame_index"}),
    }
    groups = {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups == {
        "video_manifest": "ingest",
        "video_frames": "ingest",
        "verdict_log": "tagging",
        "tag_adaptations": "tagging",
        "tag_thresholds": "tagging",
        "frame_tags": "tagging",
        "tag_segments": "catalogue",
        "video_tags": "catalogue",
        "video_summaries": "catalogue",
        "moderation_timeline": "catalogue",
        "moderation_segments": "catalogue",
        "video_risk": "catalogue",
        "frame_index": "ingest",
        "catalog": "catalogue",
    }


def test_nightly_schedule_targets_the_refresh_job():
    from orchestration.definitions import defs

    schedule = defs.resolve_schedule_def("nightly_refresh")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.job_name == "refresh_catalog"


def test_verdict_sensor_watches_the_settings_resource_folder(tmp_path, monkeypatch):
    from assets.resources import ReelcatSettings
    from orchestration.definitions import defs
    from reelcat.feedback.verdicts import Verdict, append
    from reelcat.storage.layout import Layout

    watched, elsewhere = tmp_path / "watched", tmp_path / "elsewhere"
    monkeypatch.setenv("REELCAT_OUTPUT_DIR", str(elsewhere))  # the resource's field wins
    monkeypatch.chdir(REPO)
    sensor = defs.resolve_sensor_def("verdict_sensor")
    resources = {"settings": ReelcatSettings(output_dir=str(watched))}
    # (the settings resource holds the output folder's lock during a run, so Dagster
    # opens it as a context; a sensor takes no lock: it writes nothing)
    with (
        dg.instance_for_test() as instance,
        dg.build_sensor_context(instance=instance, resources=resources) as ctx,
    ):
        assert isinstance(sensor(ctx), dg.SkipReason)
        append(Layout(elsewhere), [Verdict("frame", "v1", 2.0, 2.0, "fire", "no")])
        assert isinstance(sensor(ctx), dg.SkipReason)  # not the folder the runs use
        append(Layout(watched), [Verdict("frame", "v1", 2.0, 2.0, "fire", "no")])
        result = sensor(ctx)
        assert isinstance(result, dg.RunRequest)
        assert result.job_name in (None, "rescore_from_verdicts")
        with dg.build_sensor_context(
            instance=instance, cursor=ctx.cursor, resources=resources
        ) as ctx2:
            assert isinstance(sensor(ctx2), dg.SkipReason)  # nothing new since


def test_every_catalogue_run_is_tagged_with_its_output_folder(tmp_path, monkeypatch):
    """Each job's runs, each schedule tick's and each sensor request's carry
    `reelcat/output` = the resolved output folder: the run queue admits one per value."""
    from assets.resources import ReelcatSettings
    from orchestration.definitions import build_defs
    from orchestration.jobs import OUTPUT_TAG
    from reelcat.feedback.verdicts import Verdict, append
    from reelcat.storage.layout import Layout

    monkeypatch.chdir(REPO)
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "link").symlink_to(out)  # one folder, however it is named
    expected = str(out.resolve())
    for given in (out, tmp_path / "link"):
        settings = ReelcatSettings(output_dir=str(given))
        defs = build_defs(settings)
        jobs = [j for j in defs.resolve_all_job_defs() if not j.name.startswith("__")]
        assert sorted(j.name for j in jobs) == ["refresh_catalog", "rescore_from_verdicts"]
        for job in jobs:
            # (definition tags: Dagster adds them to every run of the job, whether the UI,
            # `dagster job launch`, the schedule or the sensor starts it)
            assert job.tags[OUTPUT_TAG] == expected, job.name
            assert job.run_tags[OUTPUT_TAG] == expected, job.name

        resources = {"settings": settings}
        schedule = defs.resolve_schedule_def("nightly_refresh")
        sensor = defs.resolve_sensor_def("verdict_sensor")
        with (
            dg.instance_for_test() as instance,
            dg.build_schedule_context(instance=instance, resources=resources) as ctx,
        ):
            (request,) = schedule.evaluate_tick(ctx).run_requests
            assert request.tags[OUTPUT_TAG] == expected
        append(Layout(given), [Verdict("frame", "v1", 2.0, 2.0, "fire", "no")])
        with (
            dg.instance_for_test() as instance,
            dg.build_sensor_context(instance=instance, resources=resources) as ctx,
        ):
            (request,) = sensor.evaluate_tick(ctx).run_requests
            assert request.tags[OUTPUT_TAG] == expected
            assert request.job_name in (None, "rescore_from_verdicts")


def test_ray_address_from_the_config_is_used(monkeypatch):
    from assets.resources import RayResource

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert RayResource().resolve_address("ray-head:6379") == "ray-head:6379"
    assert RayResource().resolve_address(None) is None  # a fresh embedded Ray
    assert RayResource(address="other:6379").resolve_address("ray-head:6379") == "other:6379"
    monkeypatch.setenv("RAY_ADDRESS", "env-head:6379")
    assert RayResource().resolve_address("ray-head:6379") == "env-head:6379"


def test_imports_go_one_way():
    """orchestration -> assets -> (catalog, reelcat), catalog -> reelcat; reelcat imports
    none of them, nor Dagster, so the same code runs from a test, the CLI or a Ray worker."""
    import re

    forbidden = {
        "reelcat": ("dagster", "assets", "orchestration", "catalog"),
        "assets": ("orchestration",),
        "catalog": ("dagster", "assets", "orchestration"),
    }
    offenders = []
    for package, names in forbidden.items():
        pattern = re.compile(rf"^\s*(from|import) ({'|'.join(names)})\b", re.M)
        for path in sorted((REPO / package).rglob("*.py")):
            if pattern.search(path.read_text()):
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == []
