"""What each video is about: segments and per-video tag statistics, then rankings and a
one-line summary set-wise over the archive.

Per video (Python, a few videos at a time): each tag's segments from smoothed scores at
its accept level, and the tag's share of the video's time (coverage) and mean score.
Over the archive (SQL, reelcat/summaries/sql): a tag's weight in a video is its coverage
times its mean calibrated score there, times its distinctiveness across the archive,
idf = log(N / df): a tag found in every video weighs zero. With fewer than three videos
distinctiveness cannot be judged and idf is taken as 1. The summary line names the top
tags by weight, ordered by their share of the time: "mostly beach (62%) and underwater
(30%); briefly fire (3%)".
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np

from reelcat.storage.views import sql
from reelcat.summaries.timeline import segments, smooth
from reelcat.tagging.scores import VideoFrames
from reelcat.tagging.thresholds import Threshold

SQL_DIR = Path(__file__).resolve().parent / "sql"
MIN_IDF_VIDEOS = 3
MIN_SEGMENT_FRAMES = 2  # never summarise a video from one frame
TOP_TAGS = 5
BRIEF_TAGS = 2  # tags under MIN_TOP_COVERAGE the summary line may still mention
MIN_TOP_COVERAGE = 0.10  # below this share of the time a tag is "brief", not a topic


def tag_segments(
    v: VideoFrames,
    tag: str,
    threshold: float,
    interval: float,
    min_frames: int = MIN_SEGMENT_FRAMES,
):
    """Segments of one tag in one video, from smoothed scores of non-blank frames."""
    keep = ~v.blank
    times = v.times[keep]
    raw = v.scores.get(tag, np.zeros(len(v.times), np.float32))[keep]
    smoothed = smooth(raw)
    accepted = smoothed >= threshold
    return (
        segments(
            times, smoothed, accepted, duration=v.duration, interval=interval, min_frames=min_frames
        ),
        times,
        smoothed,
    )


def summarise(
    videos: list[VideoFrames], thresholds: dict[str, Threshold], interval: float
) -> dict[str, list[dict]]:
    """Per-video rows for the `segments`, `tag_stats` and `video_frames` tables."""
    seg_rows: list[dict] = []
    stats: list[dict] = []
    for v in videos:
        for tag, th in thresholds.items():
            segs, _, _ = tag_segments(v, tag, th.accept, interval)
            if not segs:
                continue
            covered = sum(s.duration for s in segs)
            for s in segs:
                seg_rows.append(
                    {
                        "video_id": v.video_id,
                        "tag": tag,
                        "start": s.start,
                        "end": s.end,
                        "duration": s.duration,
                        "frames": s.frames,
                        "mean_score": s.mean_score,
                        "peak_score": s.peak_score,
                        "peak_t": s.peak_t,
                    }
                )
            stats.append(
                {
                    "video_id": v.video_id,
                    "tag": tag,
                    "frames": sum(s.frames for s in segs),
                    "seconds": covered,
                    "coverage": covered / v.duration if v.duration else 0.0,
                    "mean_score": float(
                        np.average([s.mean_score for s in segs], weights=[s.frames for s in segs])
                    ),
                    "peak_score": max(s.peak_score for s in segs),
                }
            )
    frames = [
        {"video_id": v.video_id, "frames": len(v.times), "blank_frames": int(v.blank.sum())}
        for v in videos
    ]
    return {"segments": seg_rows, "tag_stats": stats, "video_frames": frames}


def video_tags_query(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """Every video's tags with df, idf, tf-idf, weight and rank, over the relations
    `results_tag_stats` and `results_video_frames` (the archive's catalogued videos)."""
    return con.sql(sql("video_tags", SQL_DIR), params={"min_idf_videos": MIN_IDF_VIDEOS})


def video_summaries_query(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """Every video's top tags and summary line, over the relations `video_tags` (as
    `video_tags_query` gives it) and `results_video_frames`."""
    return con.sql(
        sql("video_summaries", SQL_DIR),
        params={
            "min_top_coverage": MIN_TOP_COVERAGE,
            "top_tags": TOP_TAGS,
            "brief_tags": BRIEF_TAGS,
        },
    )
