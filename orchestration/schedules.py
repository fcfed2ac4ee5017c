"""The nightly schedule that runs the refresh job.

The cron comes from the same settings resource the runs use (`schedule.cron`,
`schedule.enabled` in reelcat.yaml), read once when the definitions load; enable it
there or toggle it in the UI. Each tick tags its run with the output folder the settings
resolve to then (`reelcat/output`), so the run queue keeps it from overlapping another
run on that folder.
"""

from __future__ import annotations

import dagster as dg

from assets.resources import ReelcatSettings
from orchestration.jobs import REFRESH_JOB, output_tags
from reelcat.config import ConfigError, ScheduleConfig


def nightly_schedule(settings: ReelcatSettings) -> dg.ScheduleDefinition:
    try:
        cfg = settings.load().schedule
    except ConfigError:
        cfg = ScheduleConfig()

    @dg.schedule(
        name="nightly_refresh",
        job_name=REFRESH_JOB,
        cron_schedule=cfg.cron,
        default_status=(
            dg.DefaultScheduleStatus.RUNNING if cfg.enabled else dg.DefaultScheduleStatus.STOPPED
        ),
        description="Keeps the catalogue current: only new or changed videos are decoded.",
    )
    def nightly_refresh(context: dg.ScheduleEvaluationContext, settings: ReelcatSettings):
        # (an unusable configuration still starts the run: it fails at its start, saying
        # why, where the failed run shows it)
        return dg.RunRequest(tags=output_tags(settings))

    return nightly_refresh
