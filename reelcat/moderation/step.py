"""Write the moderation tables and the archive heat map for the configured archive (the
moderation assets call it), and draw the heat map for `reelcat heatmap` without writing
anything else. A video's own severity strip is drawn when asked (reelcat.video_pictures)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from reelcat.config import Config
from reelcat.moderation.moderate import Moderation, heatmap_matrix, moderate
from reelcat.pictures import heatmap_png
from reelcat.storage.layout import Layout
from reelcat.storage.parquet import write_bytes_atomic, write_rows
from reelcat.storage.schemas import MODERATION_SEGMENTS, MODERATION_TIMELINE, VIDEO_RISK
from reelcat.storage.thumbnails import export_thumbnails
from reelcat.storage.views import video_file_names
from reelcat.tagging.scores import VideoFrames, load_archive_scores, open_archive
from reelcat.tagging.thresholds import load_thresholds
from reelcat.tagging.vocabulary import load_vocabulary

HEATMAP_MAX_ROWS = 400


@dataclass
class ModerationResult:
    to_review: int
    cleared: int
    heatmap: Path
    order: list[str]  # video ids, riskiest first (the heat map's rows)
    raw_flagged_frames: int
    reviewer_frames: int


def moderate_archive(
    cfg: Config, min_seconds: dict[str, float] | None = None
) -> tuple[Moderation, list[VideoFrames]]:
    """Moderation of the configured archive's stored scores (people's answers applied),
    at the thresholds in force, and the videos it read; `min_seconds` defaults to the
    vocabulary's."""
    vocab = load_vocabulary(cfg.vocabulary)
    sensitive = [t for t in vocab.tags if t.sensitive]
    videos = load_archive_scores(cfg, vocab)
    if min_seconds is None:
        min_seconds = {t.name: t.min_seconds for t in sensitive}
    return moderate(
        videos,
        load_thresholds(Layout(cfg.output_dir), vocab),
        [t.name for t in sensitive],
        cfg.sampling.interval_seconds,
        min_seconds=min_seconds,
    ), videos


def heatmap_picture(
    names: dict[str, str],
    timeline: list[dict],
    risk: list[dict],
    durations: dict[str, float],
    time_axis: str = "relative",
) -> tuple[bytes, list[str], np.ndarray]:
    """The archive heat map as PNG bytes, its rows (video ids in queue order) and values."""
    order = [r["video_id"] for r in sorted(risk, key=lambda r: r["position"])]
    matrix = heatmap_matrix(timeline, order)
    to_review = sum(r["decision"] == "review" for r in risk)
    title = f"Sensitive content: {to_review} of {len(order)} videos need review"
    png = heatmap_png(
        [names.get(v, v) for v in order],
        matrix,
        title=title,
        max_rows=HEATMAP_MAX_ROWS,
        time_axis=time_axis,
        durations=[durations.get(v) or 0.0 for v in order] if time_axis == "seconds" else None,
        review_rows=to_review,
    )
    return png, order, matrix


def stored_heatmap(cfg: Config, time_axis: str = "relative") -> bytes:
    """The heat map drawn from the moderation tables the last run wrote (reads only)."""
    layout = Layout(cfg.output_dir)
    if not layout.video_risk.exists():
        raise FileNotFoundError(f"no moderation tables in {layout.out}: run `reelcat run` first")
    con = open_archive(cfg)
    try:
        names = video_file_names(con)
        durations = dict(con.execute("SELECT video_id, duration FROM video_names").fetchall())
    finally:
        con.close()
    timeline = pq.read_table(layout.moderation_timeline).to_pylist()
    risk = pq.read_table(layout.video_risk).to_pylist()
    return heatmap_picture(names, timeline, risk, durations, time_axis)[0]


def write_moderation(cfg: Config) -> ModerationResult:
    layout = Layout(cfg.output_dir)
    result, videos = moderate_archive(cfg)
    peaks: dict[str, list[float]] = {}
    for s in result.segments:
        peaks.setdefault(s["video_id"], []).append(s["peak_t"])
    con = open_archive(cfg)
    try:
        thumbs = export_thumbnails(con, layout, peaks)
        names = video_file_names(con)
    finally:
        con.close()
    for s in result.segments:
        s["thumbnail"] = thumbs.get((s["video_id"], s["peak_t"]))
    write_rows(result.timeline, layout.moderation_timeline, MODERATION_TIMELINE)
    write_rows(result.segments, layout.moderation_segments, MODERATION_SEGMENTS)
    write_rows(result.risk, layout.video_risk, VIDEO_RISK)

    png, order, _ = heatmap_picture(
        names, result.timeline, result.risk, {v.video_id: v.duration for v in videos}
    )
    heatmap = write_bytes_atomic(layout.heatmap, png)
    to_review = sum(r["decision"] == "review" for r in result.risk)
    return ModerationResult(
        to_review, len(order) - to_review, heatmap, order, result.raw_flagged_frames, to_review
    )
