"""Re-score when people answer: a sensor that watches the verdict log.

Each new verdict file since the last tick starts one run of `rescore_from_verdicts`,
which re-learns the tags and rebuilds everything downstream from stored embeddings
(no decoding). The cursor is the newest verdict file name seen.
"""

from __future__ import annotations

import dagster as dg

from reelcat.config import ConfigError, load_config
from reelcat.verdicts import GENESIS

rescore_job = dg.define_asset_job(
    "rescore_from_verdicts",
    selection=dg.AssetSelection.assets("tag_adaptations").downstream(),
    description="Adapt tags to new verdicts and rebuild scores, summaries, moderation, "
                "catalogue from stored embeddings.")


@dg.sensor(job=rescore_job, minimum_interval_seconds=30,
           default_status=dg.DefaultSensorStatus.RUNNING)
def verdict_sensor(context: dg.SensorEvaluationContext):
    try:
        out = load_config().output_dir
    except ConfigError as exc:
        return dg.SkipReason(f"no usable configuration: {exc}")
    folder = out / "feedback" / "verdicts"
    names = sorted(p.name for p in folder.glob("*.parquet") if p.name != GENESIS) \
        if folder.exists() else []
    new = [n for n in names if context.cursor is None or n > context.cursor]
    if not new:
        return dg.SkipReason("no new verdicts")
    context.update_cursor(new[-1])
    return dg.RunRequest(run_key=new[-1], tags={"verdict_files": str(len(new))})
