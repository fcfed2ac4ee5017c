"""Zero-shot tags per frame, scored from stored embeddings (no decoding)."""


import dagster as dg

from assets.feedback import tag_adaptations
from assets.ingest import video_frames
from orchestration.resources import ReelcatSettings
from reelcat.tagging import tag_frames


@dg.asset(group_name="tagging", deps=[video_frames, tag_adaptations], kinds={"pytorch", "parquet"})
def frame_tags(context: dg.AssetExecutionContext, settings: ReelcatSettings):
    """Per-frame tag scores in long form (video, t, tag, cosine, calibrated score, rank),
    with the model id and vocabulary id on each row. A changed vocabulary re-scores the
    stored embeddings; unchanged (model, vocabulary, video) files are kept."""
    cfg = settings.load()
    report = tag_frames(cfg)
    return dg.MaterializeResult(metadata={
        "videos_scored": len(report.scored),
        "videos_unchanged": len(report.skipped),
        "rows_written": report.rows,
    })
