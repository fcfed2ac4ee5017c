"""Moderation: severity timelines, risk per video, the review decision and its evidence.

Only `sensitive` tags count. Each is scored on its own (its calibrated score against its
own negatives), smoothed with a running median over three frames so that a single
noisy frame neither raises a flag nor hides one, and blank frames are skipped. A
segment starts where a sensitive tag's smoothed score reaches its review threshold and
lasts while the score stays above HOLD_SHARE of that level, so an insert the model sees
strongly on some frames and weakly on the rest is measured whole. A segment sends its
video to review when it is strong enough, its peak reaching the tag's flag (accept)
threshold or its score staying in the "needs review" band for SUSTAINED_FRAMES sampled
frames (what stays there that long is not a noisy frame), and long enough: the tag's
`min_seconds` from the vocabulary. A video with no such segment is cleared, and still
listed with the evidence.

A reviewer confirms a flagged video by looking at its peak frame, so reelcat's workload
is one frame per queued video (the other segments' peaks are there to read on); raw
per-frame flags would ask for every frame whose own score passes the same threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reelcat.summaries.timeline import binned_peak, hysteresis, segments, smooth
from reelcat.tagging.scores import VideoFrames
from reelcat.tagging.thresholds import Threshold

HEATMAP_BINS = 48
SUSTAINED_FRAMES = 3  # a segment in the "needs review" band this long goes to review
HOLD_SHARE = 0.5  # a segment lasts while the score stays above this share of the review level


@dataclass
class Moderation:
    timeline: list[dict]  # video, concept, bin, start, end, severity
    segments: list[dict]  # video, concept, start, end, duration, peak, peak_t, mean
    risk: list[dict]  # video, decision, risk, peak_severity, seconds_flagged, segments,
    # evidence, raw_flagged_frames (the queue's order is set-wise: moderation/sql/video_risk.sql)
    raw_flagged_frames: int  # frames a per-frame rule would flag at the same thresholds


def moderate(
    videos: list[VideoFrames],
    thresholds: dict[str, Threshold],
    sensitive: list[str],
    interval: float,
    bins: int = HEATMAP_BINS,
    min_seconds: dict[str, float] | None = None,
) -> Moderation:
    """`min_seconds`: per tag, how long a segment must hold to queue its video (default 0)."""
    min_seconds = min_seconds or {}
    timeline: list[dict] = []
    seg_rows: list[dict] = []
    risk: list[dict] = []
    raw_flags = 0
    for v in videos:
        keep = ~v.blank
        times = v.times[keep]
        peak, flagged_seconds, evidence, n_segments, queued = 0.0, 0.0, [], 0, False
        raw_flagged = np.zeros(len(v.times), bool)  # a frame flagged for any sensitive tag
        for concept in sensitive:
            th = thresholds[concept]
            raw = v.scores.get(concept, np.zeros(len(v.times), np.float32))
            raw_flagged |= raw >= th.review
            smoothed = smooth(raw[keep])
            per_bin = binned_peak(times, smoothed, v.duration, bins, interval)
            step = v.duration / bins if v.duration else 0.0
            for b, sev in enumerate(per_bin):
                timeline.append(
                    {
                        "video_id": v.video_id,
                        "concept": concept,
                        "bin": b,
                        "start": b * step,
                        "end": (b + 1) * step,
                        "severity": None if np.isnan(sev) else float(sev),
                    }
                )
            if len(smoothed):
                peak = max(peak, float(smoothed.max()))
            held = hysteresis(smoothed >= th.review, smoothed >= th.review * HOLD_SHARE)
            segs = segments(times, smoothed, held, duration=v.duration, interval=interval)
            for s in segs:
                level = "flag" if s.peak_score >= th.accept else "needs review"
                in_band = int(
                    ((times >= s.start) & (times < s.end) & (smoothed >= th.review)).sum()
                )
                sustained = level == "needs review" and in_band >= SUSTAINED_FRAMES
                # frame times jitter: half a sampling interval absorbs that
                brief = s.duration < min_seconds.get(concept, 0.0) - interval / 2
                queued = queued or ((level == "flag" or sustained) and not brief)
                seg_rows.append(
                    {
                        "video_id": v.video_id,
                        "concept": concept,
                        "start": s.start,
                        "end": s.end,
                        "duration": s.duration,
                        "peak": s.peak_score,
                        "peak_t": s.peak_t,
                        "mean": s.mean_score,
                        "frames": s.frames,
                        "level": level,
                    }
                )
                flagged_seconds += s.duration
                n_segments += 1
                note = (
                    f", brief: {s.duration:.0f} s of the {min_seconds[concept]:g} s asked"
                    if brief
                    else f", held {in_band} frames"
                    if sustained
                    else ""
                )
                evidence.append(
                    f"{concept} {s.start:.0f}-{s.end:.0f}s peak {s.peak_score:.2f} ({level}{note})"
                )
        raw_flags += int(raw_flagged.sum())
        if not len(v.times):
            decision, why = "clear", "no frames: nothing to review"
        elif queued:
            decision, why = "review", "; ".join(evidence)
        elif n_segments:
            decision, why = "clear", ("nothing both strong and long enough: " + "; ".join(evidence))
        else:
            decision, why = "clear", f"no sensitive tag held for 2+ frames (peak {peak:.2f})"
        risk.append(
            {
                "video_id": v.video_id,
                "decision": decision,
                "peak_severity": peak,
                "seconds_flagged": flagged_seconds,
                "segments": n_segments,
                "evidence": why,
                "risk": ((peak + min(flagged_seconds, 60.0) / 60.0) if n_segments else peak * 0.5),
                "raw_flagged_frames": int(raw_flagged.sum()),
            }
        )
    return Moderation(timeline, seg_rows, risk, raw_flags)


def heatmap_matrix(timeline: list[dict], order: list[str], bins: int = HEATMAP_BINS) -> np.ndarray:
    """Rows in `order` (video ids), columns = bins, value = peak severity over concepts."""
    index = {vid: i for i, vid in enumerate(order)}
    m = np.full((len(order), bins), np.nan, dtype=np.float32)
    for r in timeline:
        i = index.get(r["video_id"])
        if i is None or r["severity"] is None:
            continue
        cur = m[i, r["bin"]]
        m[i, r["bin"]] = r["severity"] if np.isnan(cur) else max(cur, r["severity"])
    return m
