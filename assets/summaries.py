"""What each video is about: segments, tf-idf tag stats, one-line summaries, pictures."""

import dagster as dg

from assets.resources import ReelcatSettings
from assets.specs import table_specs
from assets.tagging import SCORES_IN_FORCE
from reelcat.pictures import bar_chart_png, markdown_image, word_cloud_png
from reelcat.summaries.step import write_summaries


@dg.multi_asset(
    specs=table_specs(
        "catalogue",
        SCORES_IN_FORCE,
        {
            "tag_segments": "Time ranges where a tag holds: smoothed scores at the tag's accept "
            "level, blank frames skipped, gaps bridged.",
            "video_tags": "Per video and tag: coverage (tf), df, idf, tf-idf, rank.",
            "video_summaries": "One line per video saying what it is about; a word cloud and "
            "bar chart per video and an archive tag chart.",
        },
    )
)
def video_summaries(context: dg.AssetExecutionContext, settings: ReelcatSettings):
    """Summaries from the current tag scores (people's answers applied) at the thresholds
    in force."""
    cfg = settings.load()
    result = write_summaries(cfg)
    chart = result.pictures["tag_frequencies"].read_bytes()
    previews = []
    for s in result.examples:  # a few of this run's new videos
        cloud = word_cloud_png(
            dict(zip(s["top_tags"], s["top_coverage"], strict=True)), width=240, height=120
        )
        bars = bar_chart_png(s["top_tags"], s["top_coverage"], title=s["name"], width=320)
        previews.append(
            f"**{s['name']}**: {s['about']}\n\n"
            f"{markdown_image(cloud, 'word cloud')} {markdown_image(bars, 'tags')}"
        )
    yield dg.MaterializeResult(
        asset_key="tag_segments",
        metadata={
            "segments": result.segments,
            "frame_batches_computed": result.batches_computed,
            "frame_batches_kept": result.batches_kept,
        },
    )
    yield dg.MaterializeResult(asset_key="video_tags", metadata={"rows": result.video_tags})
    yield dg.MaterializeResult(
        asset_key="video_summaries",
        metadata={
            "videos": result.videos,
            "pictures": dg.MetadataValue.path(str(result.pictures["folder"])),
            "tag_frequency_chart": dg.MetadataValue.md(
                markdown_image(chart, "tag frequencies")
                + f"\n\nfile: `{result.pictures['tag_frequencies']}`"
            ),
            "new_videos": dg.MetadataValue.md("\n\n".join(previews) or "no new videos"),
        },
    )
