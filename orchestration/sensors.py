"""Re-score when people answer: a sensor that watches the verdict log.

Each new verdict file since the last tick starts one run of `rescore_from_verdicts`,
which re-learns the tags and rebuilds everything downstream from stored embeddings
(no decoding). The cursor is the newest verdict file name seen. The sensor watches the
output folder of the same settings resource the runs use, and tags each run with it
(`reelcat/output`): the run queue holds a re-score while another run writes that folder.
"""

from __future__ import annotations

import dagster as dg

from assets.resources import ReelcatSettings
from orchestration.jobs import RESCORE_JOB, output_tag
from reelcat.config import ConfigError
from reelcat.storage.layout import GENESIS, Layout


@dg.sensor(
    job_name=RESCORE_JOB,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts rescore_from_verdicts when the verdict log in the output "
    "folder has new answers (one run per new batch of files).",
)
def verdict_sensor(context: dg.SensorEvaluationContext, settings: ReelcatSettings):
    try:
        out = settings.load().output_dir
    except ConfigError as exc:
        return dg.SkipReason(f"no usable configuration: {exc}")
    folder = Layout(out).verdicts_dir
    names = (
        sorted(p.name for p in folder.glob("*.parquet") if p.name != GENESIS)
        if folder.exists()
        else []
    )
    new = [n for n in names if context.cursor is None or n > context.cursor]
    if not new:
        return dg.SkipReason("no new verdicts")
    context.update_cursor(new[-1])
    return dg.RunRequest(run_key=new[-1], tags={"verdict_files": str(len(new)), **output_tag(out)})
