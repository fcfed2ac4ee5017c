"""The jobs: refresh the whole catalogue, and re-score from people's answers."""

from __future__ import annotations

import dagster as dg

refresh_job = dg.define_asset_job(
    "refresh_catalog",
    selection=dg.AssetSelection.all(),
    description="Scan the archive, embed new videos, re-tag and rebuild the catalogue.",
)

rescore_job = dg.define_asset_job(
    "rescore_from_verdicts",
    selection=dg.AssetSelection.assets("tag_adaptations", "tag_thresholds").downstream(),
    description="Adapt tags to new verdicts and rebuild scores, summaries, moderation, "
    "catalogue from stored embeddings.",
)
