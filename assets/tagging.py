"""Zero-shot tags per frame, scored from stored embeddings (no decoding)."""

import dagster as dg

from assets.feedback import verdict_log
from assets.ingest import video_frames
from assets.resources import ReelcatSettings
from reelcat.tagging.step import tag_frames


@dg.asset(
    group_name="tagging",
    deps=[video_frames, dg.AssetKey("tag_adaptations")],
    kinds={"pytorch", "parquet"},
)
def frame_tags(context: dg.AssetExecutionContext, settings: ReelcatSettings):
    """Per-frame tag scores in long form (video, t, tag, cosine, calibrated score, rank),
    with the model id and vocabulary id on each row. A changed vocabulary or adaptation
    re-scores the stored embeddings; unchanged (model, vocabulary, video) files are kept,
    and scores an adaptation replaced are deleted."""
    cfg = settings.load()
    report = tag_frames(cfg)
    return dg.MaterializeResult(
        metadata={
            "frame_files_scored": len(report.scored),
            "frame_files_unchanged": len(report.skipped),
            "rows_written": report.rows,
            "replaced_folders_removed": len(report.removed),
        }
    )


# What every step that reads the current scores depends on: the scores, the thresholds
# in force, the frames (times, brightness) and the answers applied on top.
SCORES_IN_FORCE = [frame_tags, dg.AssetKey("tag_thresholds"), video_frames, verdict_log]
