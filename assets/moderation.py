"""Moderation: severity timelines, risk per video, the review queue and the heat map."""

import dagster as dg

from assets.tagging import frame_tags
from orchestration.resources import ReelcatSettings
from reelcat.moderation_files import write_moderation
from reelcat.pictures import markdown_image


@dg.asset(group_name="moderation", deps=[frame_tags], kinds={"parquet"})
def video_risk(context: dg.AssetExecutionContext, settings: ReelcatSettings):
    """Per video and sensitive concept: smoothed severity per time bin, flagged segments
    with peak frames, and a decision (review or clear) with its evidence. The archive heat
    map (one row per video, riskiest first) is out/pictures/heatmap.png."""
    cfg = settings.load()
    result = write_moderation(cfg)
    return dg.MaterializeResult(metadata={
        "videos_to_review": result.to_review,
        "videos_cleared": result.cleared,
        "reviewer_frames": result.reviewer_frames,
        "raw_per_frame_flags": result.raw_flagged_frames,
        "heatmap": dg.MetadataValue.md(markdown_image(result.heatmap.read_bytes(), "heat map")
                                       + f"\n\nfile: `{result.heatmap}`"),
    })
