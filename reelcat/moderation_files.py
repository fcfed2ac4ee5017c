"""Write the moderation tables and pictures for the configured archive."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reelcat.archive_scores import load_archive_scores
from reelcat.config import Config, model_id
from reelcat.moderation import HEATMAP_BINS, Moderation, heatmap_matrix, moderate
from reelcat.pictures import heatmap_png, severity_strip_png
from reelcat.store import (
    MODERATION_SEGMENTS,
    MODERATION_TIMELINE,
    VIDEO_RISK,
    export_thumbnails,
    frames_dir,
    video_file_names,
    write_bytes_atomic,
    write_rows,
)
from reelcat.summaries import VideoFrames, default_thresholds
from reelcat.summary_files import learned_thresholds
from reelcat.vocabulary import load_vocabulary

HEATMAP_MAX_ROWS = 400


@dataclass
class ModerationResult:
    to_review: int
    cleared: int
    heatmap: Path
    order: list[str]  # video ids, riskiest first (the heat map's rows)
    raw_flagged_frames: int
    reviewer_frames: int


def moderate_archive(cfg: Config, min_seconds: dict[str, float] | None = None
                     ) -> tuple[Moderation, list[VideoFrames]]:
    """Moderation of the configured archive's stored scores (people's answers applied),
    at the thresholds in use, and the videos it read; `min_seconds` defaults to the
    vocabulary's."""
    vocab = load_vocabulary(cfg.vocabulary)
    sensitive = [t for t in vocab.tags if t.sensitive]
    videos, by_tag = load_archive_scores(cfg, vocab)
    thresholds = default_thresholds(by_tag, vocab, learned_thresholds(cfg.output_dir))
    if min_seconds is None:
        min_seconds = {t.name: t.min_seconds for t in sensitive}
    return moderate(videos, thresholds, [t.name for t in sensitive],
                    cfg.sampling.interval_seconds, min_seconds=min_seconds), videos


def write_moderation(cfg: Config, time_axis: str = "relative",
                     heatmap_path: Path | None = None) -> ModerationResult:
    result, videos = moderate_archive(cfg)
    folder = cfg.output_dir / "moderation"
    peaks = {}
    for s in result.segments:
        peaks.setdefault(s["video_id"], []).append(s["peak_t"])
    thumbs = export_thumbnails(cfg.output_dir,
                               frames_dir(cfg.output_dir, model_id(cfg.model), cfg.sampling.id),
                               peaks)
    for s in result.segments:
        s["thumbnail"] = thumbs.get((s["video_id"], s["peak_t"]))
    write_rows(result.timeline, folder / "timeline.parquet", MODERATION_TIMELINE)
    write_rows(result.segments, folder / "segments.parquet", MODERATION_SEGMENTS)
    write_rows(result.risk, folder / "video_risk.parquet", VIDEO_RISK)

    ranked = sorted(result.risk, key=lambda r: (r["decision"] != "review", -r["risk"],
                                                r["video_id"]))
    order = [r["video_id"] for r in ranked]
    names = video_file_names(cfg.output_dir)
    durations = {v.video_id: v.duration for v in videos}
    matrix = heatmap_matrix(result.timeline, order)
    to_review = sum(r["decision"] == "review" for r in result.risk)
    title = f"Sensitive content: {to_review} of {len(order)} videos need review"
    png = heatmap_png([names.get(v, v) for v in order], matrix, title=title,
                      max_rows=HEATMAP_MAX_ROWS, time_axis=time_axis,
                      durations=[durations[v] for v in order] if time_axis == "seconds"
                      else None, review_rows=to_review)
    heatmap = write_bytes_atomic(heatmap_path or cfg.output_dir / "pictures" / "heatmap.png", png)
    for v in videos:
        row = matrix[order.index(v.video_id)] if v.video_id in order else \
            np.full(HEATMAP_BINS, np.nan)
        write_bytes_atomic(cfg.output_dir / "pictures" / "videos" / f"{v.video_id}_severity.png",
                   severity_strip_png(row, v.duration, label=names.get(v.video_id, "")))
    return ModerationResult(to_review, len(order) - to_review, heatmap, order,
                            result.raw_flagged_frames, to_review)
