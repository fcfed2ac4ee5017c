"""Write the summary tables and the archive's tag chart for the configured archive (the
`video_summaries` asset calls it)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from reelcat.config import Config
from reelcat.pictures import bar_chart_png
from reelcat.storage.layout import Layout
from reelcat.storage.parquet import write_bytes_atomic, write_rows
from reelcat.storage.schemas import SEGMENTS, SUMMARIES, VIDEO_TAGS
from reelcat.storage.views import video_file_names
from reelcat.summaries.summarise import summarise
from reelcat.tagging.scores import load_archive_scores, open_archive
from reelcat.tagging.thresholds import load_thresholds
from reelcat.tagging.vocabulary import load_vocabulary


@dataclass
class SummaryResult:
    summaries: list[dict]
    segments: int
    video_tags: int
    pictures: dict[str, Path] = field(default_factory=dict)


def write_summaries(cfg: Config) -> SummaryResult:
    vocab = load_vocabulary(cfg.vocabulary)
    layout = Layout(cfg.output_dir)
    videos = load_archive_scores(cfg, vocab)
    result = summarise(videos, load_thresholds(layout, vocab), cfg.sampling.interval_seconds)
    write_rows(result["segments"], layout.segments, SEGMENTS)
    write_rows(result["video_tags"], layout.video_tags, VIDEO_TAGS)
    write_rows(result["video_summaries"], layout.video_summaries, SUMMARIES)

    videos_with_tag: dict[str, int] = defaultdict(int)
    for r in result["video_tags"]:
        videos_with_tag[r["tag"]] += 1
    n = max(1, len(videos))
    freq = sorted(videos_with_tag.items(), key=lambda kv: (-kv[1], kv[0]))
    out = {
        "folder": layout.pictures,
        "tag_frequencies": write_bytes_atomic(
            layout.tag_frequencies_chart,
            bar_chart_png(
                [t for t, _ in freq],
                [c / n for _, c in freq],
                title="Share of videos with each tag",
            ),
        ),
    }
    con = open_archive(cfg, vocab)
    names = video_file_names(con)
    con.close()
    for s in result["video_summaries"]:
        s["name"] = names.get(s["video_id"], s["video_id"])
    return SummaryResult(
        result["video_summaries"], len(result["segments"]), len(result["video_tags"]), out
    )
