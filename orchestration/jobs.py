"""The jobs: refresh the whole catalogue, and re-score from people's answers.

Every run of them carries the tag `reelcat/output` = the resolved output folder, and so
does every run the schedule, the sensor and `reelcat run` start. The run queue of a
Dagster instance with deploy/dagster.yaml (or deploy/dagster.local.yaml) admits one run
per value of that tag at a time, so two catalogue runs on one folder do not overlap; the
folder's lock (reelcat/storage/lock.py) stays the last line.

The tag is a job tag (`tags`, not `run_tags`): Dagster copies a job's tags onto each of
its runs however it starts (the UI's launchpad and `dagster job launch` read only those).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from assets.resources import ReelcatSettings
from reelcat.config import ConfigError
from reelcat.storage.remote import is_url

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

OUTPUT_TAG = "reelcat/output"
REFRESH_JOB = "refresh_catalog"
RESCORE_JOB = "rescore_from_verdicts"


def output_tag(out: str | Path) -> dict[str, str]:
    """{OUTPUT_TAG: the output (`Config.output`)}: a folder absolute with links resolved,
    so one folder is one tag value however a run was pointed at it; an object storage URL
    as it is, the same on every machine that writes it."""
    return {OUTPUT_TAG: out if is_url(out) else str(Path(out).resolve())}


def output_tags(settings: ReelcatSettings) -> dict[str, str]:
    """output_tag of the folder the settings resolve to; {} when the configuration does
    not load (a run with it fails at its start, before it writes anything)."""
    try:
        return output_tag(settings.load().output)
    except ConfigError:
        return {}


def refresh_job(settings: ReelcatSettings) -> UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        REFRESH_JOB,
        selection=dg.AssetSelection.all(),
        description="Scan the archive, embed new videos, re-tag and rebuild the catalogue.",
        tags=output_tags(settings),
    )


def rescore_job(settings: ReelcatSettings) -> UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        RESCORE_JOB,
        selection=dg.AssetSelection.assets("tag_adaptations", "tag_thresholds").downstream(),
        description="Adapt tags to new verdicts and rebuild scores, summaries, moderation, "
        "catalogue from stored embeddings.",
        tags=output_tags(settings),
    )
