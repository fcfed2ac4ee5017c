"""What each video is about: thresholds, segments, distinctive tag rankings, one line.

Input is the long-form tag scores of the whole archive (one model, one vocabulary) and
the per-frame brightness/contrast; output is plain rows for the catalogue:
`thresholds`, `segments`, `video_tags` and `video_summaries`.

Ranking: a tag's weight in a video is its share of the video's time (coverage, from
smoothed segments) times its mean calibrated score there, times its distinctiveness
across the archive, idf = log(N / df): a tag found in every video weighs zero. With
fewer than three videos distinctiveness cannot be judged and idf is taken as 1.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from reelcat.timeline import blank_frames, segments, smooth
from reelcat.vocabulary import Vocabulary

MIN_IDF_VIDEOS = 3
MIN_SEGMENT_FRAMES = 2  # never summarise a video from one frame
TOP_TAGS = 5
MIN_TOP_COVERAGE = 0.10  # below this share of the time a tag is "brief", not a topic
ACCEPT_MIN, ACCEPT_MAX = 0.3, 0.8  # bounds of a tag's accept level from the archive
REVIEW_SHARE = 0.6  # a tag's "needs review" level, as a share of its accept level


@dataclass(frozen=True)
class Threshold:
    tag: str
    accept: float  # at or above: the tag is shown
    review: float  # between review and accept: ask a person; below: hidden
    source: str  # "vocabulary", "archive percentiles", "verdicts" or "named group"


def default_thresholds(scores_by_tag: dict[str, np.ndarray], vocab: Vocabulary,
                       overrides: dict[str, tuple[float, float]] | None = None
                       ) -> dict[str, Threshold]:
    """Per-tag thresholds: the vocabulary's when given, else from the archive's scores.

    Calibrated scores of a tag are mostly low (frames without it) with a high mode
    (frames with it). The accept level is the midpoint between the tag's 50th percentile
    (a typical frame without it) and its 95th (a typical frame with it: a tag covers only
    a few percent of an archive's frames), kept within [ACCEPT_MIN, ACCEPT_MAX]; the
    review band reaches 60% of the way down.
    """
    out: dict[str, Threshold] = {}
    for tag in vocab.tags:
        if overrides and tag.name in overrides:
            accept, review = overrides[tag.name]
            out[tag.name] = Threshold(tag.name, accept, review, "verdicts")
            continue
        s = scores_by_tag.get(tag.name, np.zeros(0))
        if len(s):
            p50, p95 = np.percentile(s, [50, 95])
            accept = float(np.clip((p50 + p95) / 2, ACCEPT_MIN, ACCEPT_MAX))
        else:
            accept = 0.5
        review = accept * REVIEW_SHARE
        source = "archive percentiles"
        if tag.accept is not None:
            accept, source = tag.accept, "vocabulary"
            review = tag.review if tag.review is not None else accept * REVIEW_SHARE
        elif tag.review is not None:
            review = min(tag.review, accept)
        out[tag.name] = Threshold(tag.name, float(accept), float(review), source)
    return out


@dataclass
class VideoFrames:
    video_id: str
    duration: float
    times: np.ndarray
    blank: np.ndarray
    scores: dict[str, np.ndarray]  # tag -> calibrated score per frame


def video_frames_from_rows(videos: dict[str, float], frames: dict, tags: dict) -> list[VideoFrames]:
    """Assemble per-video arrays from columnar dicts (as DuckDB/arrow return them).

    Every frame has one row per tag, so after sorting, each video's tag rows reshape to
    (tags, frames) without a Python loop over rows.
    """
    fv = np.asarray(frames["video_id"], dtype=object)
    ft = np.asarray(frames["t"], dtype=np.float64)
    order = np.lexsort((ft, fv))
    fv, ft = fv[order], ft[order]
    fb = np.asarray(frames["brightness"], dtype=np.float32)[order]
    fc = np.asarray(frames["contrast"], dtype=np.float32)[order]
    tv = np.asarray(tags["video_id"], dtype=object)
    tt = np.asarray(tags["t"], dtype=np.float64)
    tg = np.asarray(tags["tag"], dtype=object)
    ts = np.asarray(tags["score"], dtype=np.float32)
    torder = np.lexsort((tt, tg, tv))
    tv, tt, tg, ts = tv[torder], tt[torder], tg[torder], ts[torder]
    f_bounds = _bounds(fv)
    t_bounds = _bounds(tv)
    out = []
    for vid, duration in videos.items():
        a, b = f_bounds.get(vid, (0, 0))
        times = ft[a:b]
        blank = blank_frames(fb[a:b], fc[a:b]) if b > a else np.zeros(0, bool)
        scores: dict[str, np.ndarray] = {}
        c, d = t_bounds.get(vid, (0, 0))
        n = len(times)
        if n and d > c and (d - c) % n == 0:
            names = tg[c:d:n]
            block = ts[c:d].reshape(-1, n)
            scores = {str(name): block[i] for i, name in enumerate(names)}
        out.append(VideoFrames(vid, float(duration or 0.0), times, blank, scores))
    return out


def _bounds(sorted_ids: np.ndarray) -> dict[str, tuple[int, int]]:
    if len(sorted_ids) == 0:
        return {}
    change = np.flatnonzero(sorted_ids[1:] != sorted_ids[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(sorted_ids)]])
    return {sorted_ids[a]: (int(a), int(b)) for a, b in zip(starts, ends, strict=True)}


def tag_segments(v: VideoFrames, tag: str, threshold: float, interval: float,
                 min_frames: int = MIN_SEGMENT_FRAMES):
    """Segments of one tag in one video, from smoothed scores of non-blank frames."""
    keep = ~v.blank
    times = v.times[keep]
    raw = v.scores.get(tag, np.zeros(len(v.times), np.float32))[keep]
    smoothed = smooth(raw)
    accepted = smoothed >= threshold
    return segments(times, smoothed, accepted, duration=v.duration, interval=interval,
                    min_frames=min_frames), times, smoothed


def describe(ranked: list[dict]) -> str:
    """'mostly beach (62%) and underwater (30%); briefly fire (3%)'."""
    by_time = sorted(ranked, key=lambda r: -r["coverage"])
    main = [r for r in by_time if r["coverage"] >= MIN_TOP_COVERAGE]
    brief = [r for r in by_time if r["coverage"] < MIN_TOP_COVERAGE]
    parts = []
    if main:
        words = [f"{r['tag']} ({r['coverage']:.0%})" for r in main]
        lead = "mostly " if main[0]["coverage"] >= 0.5 else ""
        parts.append(lead + (" and ".join(words) if len(words) <= 2
                             else ", ".join(words[:-1]) + " and " + words[-1]))
    if brief:
        parts.append("briefly " + ", ".join(f"{r['tag']} ({r['coverage']:.0%})" for r in brief))
    return "; ".join(parts) if parts else "nothing recognised with confidence"


def summarise(videos: list[VideoFrames], thresholds: dict[str, Threshold], interval: float,
              sensitive: set[str] | None = None) -> dict[str, list[dict]]:
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
                seg_rows.append({"video_id": v.video_id, "tag": tag, "start": s.start,
                                 "end": s.end, "duration": s.duration, "frames": s.frames,
                                 "mean_score": s.mean_score, "peak_score": s.peak_score,
                                 "peak_t": s.peak_t})
            stats.append({
                "video_id": v.video_id, "tag": tag, "frames": frames,
                "seconds": covered,
                "coverage": covered / v.duration if v.duration else 0.0,
                "mean_score": float(np.average([s.mean_score for s in segs],
                                               weights=[s.frames for s in segs])),
                "peak_score": max(s.peak_score for s in segs),
            })
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
        rows = sorted(by_video.get(v.video_id, []),
                      key=lambda r: (-r["weight"], -r["coverage"], r["tag"]))
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
        summaries.append({
            "video_id": v.video_id, "frames": int(len(v.times)),
            "blank_frames": int(v.blank.sum()),
            "top_tags": [r["tag"] for r in ranked],
            "top_coverage": [round(r["coverage"], 4) for r in ranked],
            "top_scores": [round(r["mean_score"], 4) for r in ranked],
            "about": about,
        })
    return {"segments": seg_rows, "video_tags": stats, "video_summaries": summaries}
