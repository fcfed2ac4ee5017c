"""Write the summary tables and pictures for the configured archive (used by the asset)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from reelcat.archive_scores import load_archive_scores
from reelcat.config import Config
from reelcat.pictures import bar_chart_png, word_cloud_png
from reelcat.store import (
    SEGMENTS,
    SUMMARIES,
    THRESHOLDS,
    VIDEO_TAGS,
    video_file_names,
    write_bytes_atomic,
    write_rows,
)
from reelcat.summaries import default_thresholds, summarise
from reelcat.vocabulary import load_vocabulary


@dataclass
class SummaryResult:
    summaries: list[dict]
    segments: int
    pictures: dict[str, Path] = field(default_factory=dict)


def learned_thresholds(out: Path) -> dict[str, tuple[float, float]]:
    """Thresholds re-fitted from people's verdicts, when the feedback loop wrote some."""
    path = out / "feedback" / "thresholds.parquet"
    if not path.exists():
        return {}
    rows = duckdb.execute("SELECT tag, accept, review FROM read_parquet(?)", [str(path)]).fetchall()
    return {tag: (accept, review) for tag, accept, review in rows}


def write_summaries(cfg: Config) -> SummaryResult:
    vocab = load_vocabulary(cfg.vocabulary)
    videos, by_tag = load_archive_scores(cfg, vocab)
    thresholds = default_thresholds(by_tag, vocab, learned_thresholds(cfg.output_dir))
    result = summarise(videos, thresholds, cfg.sampling.interval_seconds)
    folder = cfg.output_dir / "summaries"
    write_rows([asdict(t) for t in thresholds.values()], folder / "thresholds.parquet",
               THRESHOLDS)
    write_rows(result["segments"], folder / "segments.parquet", SEGMENTS)
    write_rows(result["video_tags"], folder / "video_tags.parquet", VIDEO_TAGS)
    write_rows(result["video_summaries"], folder / "video_summaries.parquet", SUMMARIES)

    pictures = cfg.output_dir / "pictures"
    videos_with_tag: dict[str, int] = defaultdict(int)
    for r in result["video_tags"]:
        videos_with_tag[r["tag"]] += 1
    n = max(1, len(videos))
    freq = sorted(videos_with_tag.items(), key=lambda kv: (-kv[1], kv[0]))
    out = {"folder": pictures, "tag_frequencies": write_bytes_atomic(
        pictures / "tag_frequencies.png",
        bar_chart_png([t for t, _ in freq], [c / n for _, c in freq],
                      title="Share of videos with each tag"))}
    names = video_file_names(cfg.output_dir)
    by_video: dict[str, list[dict]] = defaultdict(list)
    for r in result["video_tags"]:
        if r["weight"] > 0:
            by_video[r["video_id"]].append(r)
    for s in result["video_summaries"]:
        tags = sorted(by_video.get(s["video_id"], []), key=lambda r: r["rank"])
        write_bytes_atomic(pictures / "videos" / f"{s['video_id']}_cloud.png",
                   word_cloud_png({r["tag"]: r["weight"] for r in tags}, seed=0))
        write_bytes_atomic(pictures / "videos" / f"{s['video_id']}_tags.png", bar_chart_png(
            [r["tag"] for r in tags[:8]], [r["coverage"] for r in tags[:8]],
            title="Share of the video's time"))
        s["name"] = names.get(s["video_id"], s["video_id"])
    return SummaryResult(result["video_summaries"], len(result["segments"]), out)

