"""Write the moderation tables and the archive heat map for the configured archive (the
moderation assets call it), and draw the heat map for `reelcat heatmap` without writing
anything else. A video's own severity strip is drawn when asked (reelcat.video_pictures).

Per video, only for frames batches without results under the current key (reelcat.
storage.results), a few videos at a time; then set-wise in DuckDB: the review queue's
order over the archive, and the heat map of its first HEATMAP_MAX_ROWS videos.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from reelcat.config import Config, model_id
from reelcat.moderation.moderate import Moderation, heatmap_matrix, moderate
from reelcat.pictures import heatmap_png
from reelcat.storage.layout import Layout
from reelcat.storage.parquet import write_bytes_atomic, write_relation
from reelcat.storage.results import BatchResults, SetWiseStamp
from reelcat.storage.schemas import (
    MODERATION_SEGMENTS,
    MODERATION_TIMELINE,
    VIDEO_DECISIONS,
    VIDEO_RISK,
)
from reelcat.storage.thumbnails import export_thumbnails
from reelcat.storage.views import define_result_views, sql
from reelcat.tagging.scores import (
    VideoFrames,
    load_answers,
    load_archive_scores,
    open_archive,
    results_key,
    video_chunks,
)
from reelcat.tagging.thresholds import load_thresholds
from reelcat.tagging.vocabulary import load_vocabulary

SQL_DIR = Path(__file__).resolve().parent / "sql"
HEATMAP_MAX_ROWS = 400
TABLES = {
    "moderation_timeline": MODERATION_TIMELINE,
    "moderation_segments": MODERATION_SEGMENTS,
    "video_decisions": VIDEO_DECISIONS,
}


@dataclass
class ModerationResult:
    batches_computed: int
    to_review: int
    cleared: int
    heatmap: Path
    raw_flagged_frames: int
    reviewer_frames: int


def moderate_archive(
    cfg: Config, min_seconds: dict[str, float] | None = None
) -> tuple[Moderation, list[VideoFrames]]:
    """Moderation of the whole archive in memory (the quality benchmark's policy table);
    `min_seconds` defaults to the vocabulary's. The pipeline streams `write_moderation`."""
    vocab = load_vocabulary(cfg.vocabulary)
    sensitive = [t for t in vocab.tags if t.sensitive]
    videos = load_archive_scores(cfg, vocab)
    if min_seconds is None:
        min_seconds = {t.name: t.min_seconds for t in sensitive}
    thresholds = load_thresholds(Layout(cfg.output_dir), vocab)
    return moderate(
        videos,
        thresholds,
        [t.name for t in sensitive],
        cfg.sampling.interval_seconds,
        min_seconds=min_seconds,
    ), videos


def write_moderation(cfg: Config) -> ModerationResult:
    vocab = load_vocabulary(cfg.vocabulary)
    layout = Layout(cfg.output_dir)
    mid = model_id(cfg.model)
    key = results_key(cfg, vocab)
    sensitive = [t for t in vocab.tags if t.sensitive]
    min_seconds = {t.name: t.min_seconds for t in sensitive}
    thresholds = load_thresholds(layout, vocab)
    tags_dir = layout.tags_dir(mid, vocab.id)
    frames_files = Layout.batch_files(layout.frames_dir(mid, cfg.sampling.id))
    results = BatchResults(layout, key, TABLES)
    con = open_archive(cfg, vocab, results=True)

    def compute(frames_file: Path, tags_file: Path):
        for videos in video_chunks(con, frames_file, tags_file):
            m = moderate(
                videos,
                thresholds,
                [t.name for t in sensitive],
                cfg.sampling.interval_seconds,
                min_seconds=min_seconds,
            )
            peaks: dict[str, list[float]] = {}
            for s in m.segments:
                peaks.setdefault(s["video_id"], []).append(s["peak_t"])
            thumbs = export_thumbnails(con, layout, peaks)
            for s in m.segments:
                s["thumbnail"] = thumbs.get((s["video_id"], s["peak_t"]))
            yield dict(zip(TABLES, (m.timeline, m.segments, m.risk), strict=True))

    try:
        load_answers(con)
        computed = results.compute_missing(frames_files, tags_dir, compute)
        pruned = results.prune({f.name for f in frames_files})
        stamp = SetWiseStamp(layout.video_risk, key)
        if computed or pruned or not stamp.current(layout.manifest) or not layout.heatmap.exists():
            _queue(con, layout, key)
            write_bytes_atomic(layout.heatmap, draw_heatmap(con))
            stamp.write()
        ((to_review, videos, raw),) = con.execute(
            "SELECT count(*) FILTER (decision = 'review'), count(*), "
            "coalesce(sum(raw_flagged_frames), 0) FROM read_parquet(video_risk_path())"
        ).fetchall()
    finally:
        con.close()
    return ModerationResult(computed, to_review, videos - to_review, layout.heatmap, raw, to_review)


def _queue(con: duckdb.DuckDBPyConnection, layout: Layout, key: str) -> None:
    """Set-wise: every catalogued video's decision with its place in the review queue."""
    define_result_views(con, layout, key)  # empty when no batch has results yet
    write_relation(con.sql(sql("video_risk", SQL_DIR)), layout.video_risk, VIDEO_RISK)


def draw_heatmap(con: duckdb.DuckDBPyConnection, time_axis: str = "relative") -> bytes:
    """The archive heat map: the first HEATMAP_MAX_ROWS videos of the review queue (only
    their rows are read), from the stored decisions and timelines."""
    ((total, to_review),) = con.execute(
        "SELECT count(*), count(*) FILTER (decision = 'review') "
        "FROM read_parquet(video_risk_path())"
    ).fetchall()
    top = con.execute(
        "SELECT r.video_id, coalesce(n.file_name, r.video_id), coalesce(n.duration, 0) "
        "FROM read_parquet(video_risk_path()) AS r LEFT JOIN video_names AS n USING (video_id) "
        "ORDER BY r.position LIMIT $n",
        {"n": HEATMAP_MAX_ROWS},
    ).fetchall()
    order = [vid for vid, _, _ in top]
    timeline = (
        []
        if not order
        else [
            {"video_id": v, "bin": b, "severity": s}
            for v, b, s in con.execute(
                "SELECT video_id, bin, severity FROM read_parquet(moderation_timeline_path()) "
                "WHERE list_contains($ids, video_id)",
                {"ids": order},
            ).fetchall()
        ]
    )
    matrix = heatmap_matrix(timeline, order) if order else np.zeros((0, 0))
    return heatmap_png(
        [name for _, name, _ in top],
        matrix,
        title=f"Sensitive content: {to_review} of {total} videos need review",
        max_rows=HEATMAP_MAX_ROWS,
        time_axis=time_axis,
        durations=[d for _, _, d in top] if time_axis == "seconds" else None,
        review_rows=min(to_review, len(order)),
        total=total,
    )


def stored_heatmap(cfg: Config, time_axis: str = "relative") -> bytes:
    """The heat map drawn from the moderation tables the last run wrote (reads only)."""
    layout = Layout(cfg.output_dir)
    if not layout.video_risk.exists():
        raise FileNotFoundError(f"no moderation tables in {layout.out}: run `reelcat run` first")
    con = open_archive(cfg, results=True)
    try:
        return draw_heatmap(con, time_axis)
    finally:
        con.close()
