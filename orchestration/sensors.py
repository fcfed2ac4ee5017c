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
from reelcat.config import Config, ConfigError
from reelcat.storage import remote
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
        cfg = settings.load()
    except ConfigError as exc:
        return dg.SkipReason(f"no usable configuration: {exc}")
    try:
        names = sorted(n for n in verdict_files(cfg) if n != GENESIS)
    except OSError as exc:  # a bucket that cannot be listed now: try at the next tick
        return dg.SkipReason(f"the verdict log cannot be listed: {exc}")
    new = [n for n in names if context.cursor is None or n > context.cursor]
    if not new:
        return dg.SkipReason("no new verdicts")
    context.update_cursor(new[-1])
    return dg.RunRequest(
        run_key=new[-1], tags={"verdict_files": str(len(new)), **output_tag(cfg.output)}
    )


def verdict_files(cfg: Config) -> list[str]:
    """The names of the verdict log's files, in the output folder or in its bucket (listed
    there: the sensor downloads nothing)."""
    layout = Layout(cfg.output_dir)
    if cfg.output_url:
        folder = f"{cfg.output_url}/{layout.relative(layout.verdicts_dir)}"
        return [o.path.rsplit("/", 1)[1] for o in remote.list_objects(folder)]
    folder = layout.verdicts_dir
    return [p.name for p in folder.glob("*.parquet")] if folder.exists() else []
