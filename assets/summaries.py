"""What each video is about: thresholds, segments, tf-idf tag stats, one-line summaries."""

import dagster as dg

from assets.tagging import frame_tags
from orchestration.resources import ReelcatSettings
from reelcat.pictures import bar_chart_png, markdown_image, word_cloud_png
from reelcat.summary_files import write_summaries


@dg.asset(group_name="summaries", deps=[frame_tags], kinds={"parquet"})
def video_summaries(context: dg.AssetExecutionContext, settings: ReelcatSettings):
    """Per-tag thresholds (archive percentiles, vocabulary or verdict overrides), smoothed
    segments, per-video tag stats (coverage, df, idf, tf-idf) and a one-line summary per
    video; a word cloud and bar chart per video and an archive tag chart in out/pictures/."""
    cfg = settings.load()
    result = write_summaries(cfg)
    chart = result.pictures["tag_frequencies"].read_bytes()
    examples = result.summaries[:3]
    previews = []
    for s in examples:
        cloud = word_cloud_png(dict(zip(s["top_tags"], s["top_coverage"], strict=True)),
                               width=240, height=120)
        bars = bar_chart_png(s["top_tags"], s["top_coverage"], title=s["name"], width=320)
        previews.append(f"**{s['name']}**: {s['about']}\n\n"
                        f"{markdown_image(cloud, 'word cloud')} {markdown_image(bars, 'tags')}")
    return dg.MaterializeResult(metadata={
        "videos": len(result.summaries),
        "segments": result.segments,
        "pictures": dg.MetadataValue.path(str(result.pictures["folder"])),
        "tag_frequency_chart": dg.MetadataValue.md(
            markdown_image(chart, "tag frequencies")
            + f"\n\nfile: `{result.pictures['tag_frequencies']}`"),
        "examples": dg.MetadataValue.md("\n\n".join(previews) or "no videos"),
    })
