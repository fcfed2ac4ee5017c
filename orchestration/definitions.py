"""The Dagster entry point: wires assets, resources, the job and the nightly schedule.

Nothing slow happens at import: no Ray, no model, no file scan.
"""

from __future__ import annotations

import dagster as dg

from assets.catalogue import catalog_asset
from assets.feedback import tag_adaptations
from assets.ingest import video_frames, video_manifest
from assets.moderation import video_risk
from assets.summaries import video_summaries
from assets.tagging import frame_tags
from orchestration.resources import RayResource, ReelcatSettings
from orchestration.schedules import nightly_schedule, refresh_job
from orchestration.sensors import rescore_job, verdict_sensor

ALL_ASSETS = [video_manifest, video_frames, tag_adaptations, frame_tags, video_summaries,
              video_risk, catalog_asset]

defs = dg.Definitions(
    assets=ALL_ASSETS,
    jobs=[refresh_job, rescore_job],
    schedules=[nightly_schedule],
    sensors=[verdict_sensor],
    resources={"settings": ReelcatSettings(), "ray_cluster": RayResource()},
)
