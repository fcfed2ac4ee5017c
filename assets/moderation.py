"""Moderation: severity timelines, flagged segments, risk per video and the heat map."""

import dagster as dg

from assets.feedback import verdict_log
from assets.ingest import video_frames
from assets.resources import ReelcatSettings
from assets.tagging import frame_tags
from reelcat.moderation.step import write_moderation
from reelcat.pictures import markdown_image

_DEPS = [frame_tags, dg.AssetKey("tag_thresholds"), video_frames, verdict_log]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "moderation_timeline",
            group_name="moderation",
            kinds={"parquet"},
            deps=_DEPS,
            description="Per video, sensitive concept and time bin: the peak smoothed severity.",
        ),
        dg.AssetSpec(
            "moderation_segments",
            group_name="moderation",
            kinds={"parquet"},
            deps=_DEPS,
            description="Time ranges to check, with level and peak-frame thumbnail.",
        ),
        dg.AssetSpec(
            "video_risk",
            group_name="moderation",
            kinds={"parquet"},
            deps=_DEPS,
            description="Per video: review or clear, risk, queue position and the "
            "evidence; the archive heat map among the pictures.",
        ),
    ]
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
