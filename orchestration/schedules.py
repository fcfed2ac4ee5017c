"""The job that refreshes the whole catalogue, and the nightly schedule that runs it.

The cron comes from reelcat.yaml (`schedule.cron`, `schedule.enabled`), read once when
the definitions load; enable it there or toggle it in the UI.
"""

from __future__ import annotations

import dagster as dg

from reelcat.config import ConfigError, ScheduleConfig, load_config

refresh_job = dg.define_asset_job(
    "refresh_catalog", selection=dg.AssetSelection.all(),
    description="Scan the archive, embed new videos, re-tag and rebuild the catalogue.")


def _schedule_config() -> ScheduleConfig:
    try:
        return load_config().schedule
    except ConfigError:
        return ScheduleConfig()


_cfg = _schedule_config()

nightly_schedule = dg.ScheduleDefinition(
    name="nightly_refresh",
    job=refresh_job,
    cron_schedule=_cfg.cron,
    default_status=(dg.DefaultScheduleStatus.RUNNING if _cfg.enabled
                    else dg.DefaultScheduleStatus.STOPPED),
    description="Keeps the catalogue current: only new or changed videos are decoded.",
)
