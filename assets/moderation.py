"""Moderation: severity timelines, flagged segments, risk per video and the heat map."""

import dagster as dg

from assets.resources import ReelcatSettings
from assets.specs import table_specs
from assets.tagging import SCORES_IN_FORCE
from reelcat.moderation.step import write_moderation
from reelcat.pictures import markdown_image


@dg.multi_asset(
    specs=table_specs(
        "catalogue",
        SCORES_IN_FORCE,
        {
            "moderation_timeline": "Per video, sensitive concept and time bin: the peak "
            "smoothed severity.",
            "moderation_segments": "Time ranges to check, with level and peak-frame thumbnail.",
            "video_risk": "Per video: review or clear, risk, queue position and the evidence; "
            "the archive heat map among the pictures.",
        },
    )
)
def video_risk(context: dg.AssetExecutionContext, settings: ReelcatSettings):
    """Moderate every video from its current scores (people's answers applied)."""
    cfg = settings.load()
    result = write_moderation(cfg)
    yield dg.MaterializeResult(asset_key="moderation_timeline")
    yield dg.MaterializeResult(
        asset_key="moderation_segments", metadata={"raw_per_frame_flags": result.raw_flagged_frames}
    )
    yield dg.MaterializeResult(
        asset_key="video_risk",
        metadata={
            "videos_to_review": result.to_review,
            "videos_cleared": result.cleared,
            "reviewer_frames": result.reviewer_frames,
            "raw_per_frame_flags": result.raw_flagged_frames,
            "heatmap": dg.MetadataValue.md(
                markdown_image(result.heatmap.read_bytes(), "heat map")
                + f"\n\nfile: `{result.heatmap}`"
            ),
        },
    )
