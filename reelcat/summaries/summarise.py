"""What each video is about: segments, distinctive tag rankings, a one-line summary.

Input is every video's frame scores (reelcat.tagging.scores) and the thresholds in
force; output is plain rows for the catalogue's `segments`, `video_tags` and
`video_summaries`.

Ranking: a tag's weight in a video is its share of the video's time (coverage, from
smoothed segments) times its mean calibrated score there, times its distinctiveness
across the archive, idf = log(N / df): a tag found in every video weighs zero. With
fewer than three videos distinctiveness cannot be judged and idf is taken as 1.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from reelcat.summaries.timeline import segments, smooth
from reelcat.tagging.scores import VideoFrames
from reelcat.tagging.thresholds import Threshold

MIN_IDF_VIDEOS = 3
MIN_SEGMENT_FRAMES = 2  # never summarise a video from one frame
TOP_TAGS = 5
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


def describe(ranked: list[dict]) -> str:
    """'mostly beach (62%) and underwater (30%); briefly fire (3%)'."""
    by_time = sorted(ranked, key=lambda r: -r["coverage"])
    main = [r for r in by_time if r["coverage"] >= MIN_TOP_COVERAGE]
    brief = [r for r in by_time if r["coverage"] < MIN_TOP_COVERAGE]
    parts = []
    if main:
        words = [f"{r['tag']} ({r['coverage']:.0%})" for r in main]
        lead = "mostly " if main[0]["coverage"] >= 0.5 else ""
        parts.append(
            lead
            + (
                " and ".join(words)
                if len(words) <= 2
                else ", ".join(words[:-1]) + " and " + words[-1]
            )
        )
    if brief:
        parts.append("briefly " + ", ".join(f"{r['tag']} ({r['coverage']:.0%})" for r in brief))
    return "; ".join(parts) if parts else "nothing recognised with confidence"


def summarise(
    videos: list[VideoFrames], thresholds: dict[str, Threshold], interval: float
) -> dict[str, list[dict]]:
    """Rows for the `segments`, `video_tags` and `video_summaries` tables."""
    seg_rows: list[dict] = []
    stats: list[dict] = []
    for v in videos:
        for tag, th in thresholds.items():
            segs, _, _ = tag_segments(v, tag, th.accept, interval)
            if not segs:
                continue
            covered = sum(s.duration for s in segs)
            frames = sum(s.frames for s in segs)
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
                    "frames": frames,
                    "seconds": covered,
                    "coverage": covered / v.duration if v.duration else 0.0,
                    "mean_score": float(
                        np.average([s.mean_score for s in segs], weights=[s.frames for s in segs])
                    ),
                    "peak_score": max(s.peak_score for s in segs),
                }
            )
    n = len(videos)
    df: dict[str, int] = defaultdict(int)
    for r in stats:
        df[r["tag"]] += 1
    for r in stats:
        r["df"] = df[r["tag"]]
        r["idf"] = math.log(n / df[r["tag"]]) if n >= MIN_IDF_VIDEOS else 1.0
        r["tf"] = r["coverage"]
        r["tfidf"] = r["tf"] * r["idf"]
        r["weight"] = r["coverage"] * r["mean_score"] * r["idf"]
        r["ubiquitous"] = n >= MIN_IDF_VIDEOS and df[r["tag"]] == n
    summaries = []
    by_video: dict[str, list[dict]] = defaultdict(list)
    for r in stats:
        by_video[r["video_id"]].append(r)
    for v in videos:
        rows = sorted(
            by_video.get(v.video_id, []), key=lambda r: (-r["weight"], -r["coverage"], r["tag"])
        )
        for i, r in enumerate(rows):
            r["rank"] = i + 1
        weighted = [r for r in rows if r["weight"] > 0]
        ranked = [r for r in weighted if r["coverage"] >= MIN_TOP_COVERAGE][:TOP_TAGS]
        brief = [r for r in weighted if r["coverage"] < MIN_TOP_COVERAGE][:2]
        if len(v.times) == 0:
            about = "no frames: nothing to summarise"
        elif len(v.times) - int(v.blank.sum()) == 0:
            about = "only blank frames: nothing to summarise"
        else:
            about = describe(ranked + brief)
        summaries.append(
            {
                "video_id": v.video_id,
                "frames": int(len(v.times)),
                "blank_frames": int(v.blank.sum()),
                "top_tags": [r["tag"] for r in ranked],
                "top_coverage": [round(r["coverage"], 4) for r in ranked],
                "top_scores": [round(r["mean_score"], 4) for r in ranked],
                "about": about,
            }
        )
    return {"segments": seg_rows, "video_tags": stats, "video_summaries": summaries}
