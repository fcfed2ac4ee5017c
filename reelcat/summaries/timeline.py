"""Scores along a video's timeline: smoothing, blank frames, segments.

One frame is never trusted alone. A running median over three neighbouring frames
removes one-frame spikes (a cutaway, a misfire) and fills one-frame misses; frames
that are black or blank (a fade, a slate) carry no evidence and are skipped; accepted
frames then merge into segments, bridging gaps up to a tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLANK_CONTRAST = 0.03  # pixel std below this: black, white or flat frame
DARK_BRIGHTNESS = 0.06  # a frame this dark is blank unless it still has some contrast
DARK_CONTRAST = 0.06


def blank_frames(brightness: np.ndarray, contrast: np.ndarray) -> np.ndarray:
    """True where a frame is flat, or dark with little contrast: a fade or a blank slate
    carries no evidence. Dark frames with contrast (fire or a city at night) count."""
    return (contrast < BLANK_CONTRAST) | (
        (brightness < DARK_BRIGHTNESS) & (contrast < DARK_CONTRAST)
    )


def smooth(scores: np.ndarray, window: int = 3) -> np.ndarray:
    """Running median over `window` frames (edges use the frames that exist)."""
    n = len(scores)
    if n < 3 or window < 3:
        return scores.astype(np.float32)
    half = window // 2
    padded = np.concatenate([np.full(half, np.nan), scores, np.full(half, np.nan)])
    stacked = np.stack([padded[i : i + n] for i in range(window)])
    return np.nanmedian(stacked, axis=0).astype(np.float32)


def hysteresis(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """The runs of `low` that reach `high` somewhere: a segment starts at the higher
    level and lasts while the score stays above the lower one (`high` implies `low`)."""
    low = low | high
    run = np.cumsum(np.diff(low.astype(np.int8), prepend=0) == 1) * low  # 0: outside
    reached = np.unique(run[high])
    return np.isin(run, reached[reached > 0])


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    mean_score: float
    peak_score: float
    peak_t: float
    frames: int

    @property
    def duration(self) -> float:
        return self.end - self.start


def frame_spans(
    times: np.ndarray, duration: float, interval: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each sampled frame stands for the time until the next one (bounded by interval)."""
    if len(times) == 0:
        return times, times
    nxt = np.append(times[1:], max(duration, times[-1]))
    end = np.minimum(nxt, times + interval)
    end = np.maximum(end, times)
    return times, end


def segments(
    times: np.ndarray,
    scores: np.ndarray,
    accepted: np.ndarray,
    *,
    duration: float,
    interval: float,
    gap: float | None = None,
    min_frames: int = 1,
) -> list[Segment]:
    """Merge accepted frames into segments; gaps up to `gap` seconds are bridged."""
    gap = interval * 1.5 if gap is None else gap
    starts, ends = frame_spans(times, duration, interval)
    out: list[Segment] = []
    idx = np.flatnonzero(accepted)
    if len(idx) == 0:
        return out
    group = [idx[0]]
    for i in idx[1:]:
        if starts[i] - ends[group[-1]] <= gap:
            group.append(i)
        else:
            out.append(_segment(group, starts, ends, scores))
            group = [i]
    out.append(_segment(group, starts, ends, scores))
    return [s for s in out if s.frames >= min_frames]


def _segment(group: list[int], starts: np.ndarray, ends: np.ndarray, scores: np.ndarray) -> Segment:
    g = np.asarray(group)
    peak = g[np.argmax(scores[g])]
    return Segment(
        start=float(starts[g[0]]),
        end=float(ends[g[-1]]),
        mean_score=float(scores[g].mean()),
        peak_score=float(scores[peak]),
        peak_t=float(starts[peak]),
        frames=len(g),
    )


def binned_peak(
    times: np.ndarray, values: np.ndarray, duration: float, bins: int, interval: float | None = None
) -> np.ndarray:
    """Peak value per time bin over [0, duration).

    Each frame stands for the time until the next one (at most `interval`), so bins
    narrower than the sampling interval are filled rather than left empty; a bin that
    no frame covers is NaN.
    """
    out = np.full(bins, np.nan, dtype=np.float32)
    if len(times) == 0 or duration <= 0:
        return out
    starts, ends = frame_spans(times, duration, interval or duration)
    width = duration / bins
    for s, e, v in zip(starts, ends, values, strict=True):
        first = min(bins - 1, int(s / width))
        last = max(first, min(bins - 1, int(np.ceil(e / width)) - 1))
        seg = out[first : last + 1]
        out[first : last + 1] = np.where(np.isnan(seg), v, np.maximum(seg, v))
    return out
