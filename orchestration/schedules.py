"""The nightly schedule that runs the refresh job.

The cron comes from the same settings resource the runs use (`schedule.cron`,
`schedule.enabled` in reelcat.yaml), read once when the definitions load; enable it
there or toggle it in the UI.
"""

from __future__ import annotations

import dagster as dg

from assets.resources import ReelcatSettings
from orchestration.jobs import refresh_job
from reelcat.config import ConfigError, ScheduleConfig


def nightly_schedule(settings: ReelcatSettings) -> dg.ScheduleDefinition:
    try:
        cfg = settings.load().schedule
    except ConfigError:
        cfg = ScheduleConfig()
    return dg.ScheduleDefinition(
        name="nightly_refresh",
        job=refresh_job,
        cron_schedule=cfg.cron,
        default_status=(
            dg.DefaultScheduleStatus.RUNNING if cfg.enabled else dg.DefaultScheduleStatus.STOPPED
        ),
        description="Keeps the catalogue current: only new or changed videos are decoded.",
    )
