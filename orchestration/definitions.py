"""The Dagster entry point: wires assets, resources, jobs, the schedule and the sensor.

Nothing slow happens at import: no Ray, no model, no file scan (the settings resource
reads reelcat.yaml once: the schedule's cron and the output folder the jobs' runs are
tagged with, `reelcat/output`, see orchestration/jobs.py).
"""

from __future__ import annotations

import dagster as dg

from assets.catalogue import catalog_asset
from assets.checks import CHECKS
from assets.feedback import tag_adaptations, verdict_log
from assets.ingest import video_frames, video_manifest
from assets.moderation import video_risk
from assets.resources import RayResource, ReelcatSettings
from assets.search import frame_index
from assets.summaries import video_summaries
from assets.tagging import frame_tags
from orchestration.jobs import refresh_job, rescore_job
from orchestration.schedules import nightly_schedule
from orchestration.sensors import verdict_sensor

ALL_ASSETS = [
    video_manifest,
    video_frames,
    frame_index,
    verdict_log,
    tag_adaptations,
    frame_tags,
    video_summaries,
    video_risk,
    catalog_asset,
    *CHECKS,  # run after the asset each one checks (assets/checks.py)
]


def build_defs(settings: ReelcatSettings) -> dg.Definitions:
    """The code location for these settings (the jobs' run tags and the schedule's cron
    are read from them when the definitions load)."""
    return dg.Definitions(
        assets=ALL_ASSETS,
        jobs=[refresh_job(settings), rescore_job(settings)],
        schedules=[nightly_schedule(settings)],
        sensors=[verdict_sensor],
        resources={"settings": settings, "ray_cluster": RayResource()},
    )


settings = ReelcatSettings()

defs = build_defs(settings)
