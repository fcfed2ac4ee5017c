"""Per-tag thresholds: accept above the upper one, ask a person inside the band, hide below.

A tag's baseline comes from the model's own scores (`baseline_thresholds`: the
vocabulary's levels when it sets them, else the archive's percentiles). People's answers
may move the accept level (reelcat.feedback.learning); the table in force, with the
baseline beside every row, is written by reelcat.feedback.step and read by everything
else through `load_thresholds`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow.parquet as pq

from reelcat.storage.layout import Layout
from reelcat.tagging.vocabulary import Vocabulary

ACCEPT_MIN, ACCEPT_MAX = 0.3, 0.8  # bounds of a tag's accept level from the archive
REVIEW_SHARE = 0.6  # a tag's "needs review" level, as a share of its accept level


@dataclass(frozen=True)
class Threshold:
    tag: str
    accept: float  # at or above: the tag is shown
    review: float  # between review and accept: ask a person; below: hidden
    source: str  # "vocabulary", "archive percentiles", "verdicts" or "named group"


def baseline_thresholds(
    scores_by_tag: dict[str, np.ndarray], vocab: Vocabulary
) -> dict[str, Threshold]:
    """Per-tag thresholds from the model alone: the vocabulary's when given, else from the
    archive's scores.

    Calibrated scores of a tag are mostly low (frames without it) with a high mode
    (frames with it). The accept level is the midpoint between the tag's 50th percentile
    (a typical frame without it) and its 95th (a typical frame with it: a tag covers only
    a few percent of an archive's frames), kept within [ACCEPT_MIN, ACCEPT_MAX]; the
    review band reaches 60% of the way down.
    """
    out: dict[str, Threshold] = {}
    for tag in vocab.tags:
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


def threshold_rows(
    baseline: dict[str, Threshold], learned: dict[str, float], answers: dict[str, int]
) -> list[dict]:
    """The thresholds table: a learned accept level replaces the baseline's (its review
    level follows at REVIEW_SHARE); the baseline stays beside it."""
    rows = []
    for tag, b in baseline.items():
        accept = learned.get(tag, b.accept)
        moved = accept != b.accept
        rows.append(
            {
                "tag": tag,
                "accept": accept,
                "review": accept * REVIEW_SHARE if moved else b.review,
                "source": "verdicts" if moved else b.source,
                "baseline_accept": b.accept,
                "baseline_review": b.review,
                "answers": answers.get(tag, 0),
            }
        )
    return rows


def load_thresholds(layout: Layout, vocab: Vocabulary) -> dict[str, Threshold]:
    """The thresholds in force, one per vocabulary tag (0.5 for a tag the table lacks:
    a vocabulary edited since the last run)."""
    rows = {}
    if layout.thresholds.exists():
        table = pq.read_table(layout.thresholds, columns=["tag", "accept", "review", "source"])
        rows = {r["tag"]: Threshold(**r) for r in table.to_pylist()}
    return {
        t.name: rows.get(t.name) or Threshold(t.name, 0.5, 0.5 * REVIEW_SHARE, "default")
        for t in vocab.tags
    }
