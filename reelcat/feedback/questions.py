"""'Is this X?': the questions worth a person's time, and how precise each tag is.

Candidates are frames where the model is least sure: the tag's calibrated score sits in
its uncertain band (between the review and accept thresholds) or near it, or the tag
flickers on and off between neighbouring frames. They are ranked by closeness to the
accept threshold (flicker first), then picked greedily so no two questions about a tag
show near-identical frames (cosine of embeddings above `near_duplicate`). A share of
random audit items (accepted frames drawn uniformly) keeps precision estimates unbiased:
uncertain items alone would make every tag look worse than it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reelcat.tagging.scores import VideoFrames
from reelcat.tagging.thresholds import Threshold

AUDIT_SHARE = 0.08


@dataclass(frozen=True)
class Question:
    video_id: str
    t: float
    tag: str
    score: float
    reason: str  # uncertain | flicker | audit
    priority: float


def candidates(
    videos: list[VideoFrames], thresholds: dict[str, Threshold], tags: list[str] | None = None
) -> list[Question]:
    out: list[Question] = []
    for v in videos:
        for tag, scores in v.scores.items():
            if tags is not None and tag not in tags:
                continue
            th = thresholds.get(tag)
            if th is None or not len(scores):
                continue
            on = scores >= th.accept
            flicker = np.zeros(len(scores), bool)
            if len(scores) >= 3:
                flicker[1:-1] = (on[1:-1] != on[:-2]) & (on[1:-1] != on[2:])
            width = max(th.accept - th.review, 1e-6)
            # In-band frames come first (closeness near 1); when they run out the queue
            # continues with the frames nearest the band on either side.
            for i in np.flatnonzero(~v.blank):
                closeness = 1.0 - abs(float(scores[i]) - th.accept) / width
                if closeness < -1.0 and not flicker[i]:
                    continue
                out.append(
                    Question(
                        v.video_id,
                        float(v.times[i]),
                        tag,
                        float(scores[i]),
                        "flicker" if flicker[i] else "uncertain",
                        closeness + (0.5 if flicker[i] else 0.0),
                    )
                )
    return sorted(out, key=lambda q: (-q.priority, q.video_id, q.t, q.tag))


def pick_diverse(
    cands: list[Question],
    embedding_of,
    n: int,
    near_duplicate: float = 0.985,
    same_shot_seconds: float = 4.0,
    answered: set[tuple[str, float, str]] = frozenset(),
) -> list[Question]:
    """Greedy: best first, skipping items answered already or near-duplicates of a picked
    one about the same tag (the same shot a few seconds away, or embeddings almost equal)."""
    picked: list[Question] = []
    seen: dict[str, list[tuple[str, float, np.ndarray]]] = {}
    for q in cands:
        if len(picked) >= n:
            break
        if (q.video_id, round(q.t, 3), q.tag) in answered:
            continue
        e = embedding_of(q.video_id, q.t)
        if e is None:
            continue
        same_tag = seen.setdefault(q.tag, [])
        if any(
            (v == q.video_id and abs(t - q.t) < same_shot_seconds) or float(e @ o) >= near_duplicate
            for v, t, o in same_tag
        ):
            continue
        picked.append(q)
        same_tag.append((q.video_id, q.t, e))
    return picked


def audit_items(
    videos: list[VideoFrames],
    thresholds: dict[str, Threshold],
    n: int,
    rng: np.random.Generator,
    tags: list[str] | None = None,
    answered: set[tuple[str, float, str]] = frozenset(),
) -> list[Question]:
    """Accepted frames drawn uniformly at random: the unbiased sample for precision."""
    pool = [
        (v.video_id, float(v.times[i]), tag, float(s[i]))
        for v in videos
        for tag, s in v.scores.items()
        if (tags is None or tag in tags) and tag in thresholds
        for i in np.flatnonzero(s >= thresholds[tag].accept)
        if (v.video_id, round(float(v.times[i]), 3), tag) not in answered
    ]
    if not pool or n <= 0:
        return []
    idx = rng.choice(len(pool), size=min(n, len(pool)), replace=False)
    return [Question(*pool[i], "audit", 0.0) for i in sorted(idx)]


def question_queue(
    videos: list[VideoFrames],
    thresholds: dict[str, Threshold],
    embedding_of,
    n: int = 20,
    seed: int = 0,
    tags: list[str] | None = None,
    answered: set[tuple[str, float, str]] = frozenset(),
) -> list[Question]:
    """n questions: uncertain/flickering and diverse, with ~8% random audit items mixed in."""
    n_audit = max(1, round(n * AUDIT_SHARE)) if n >= 5 else 0
    rng = np.random.default_rng(seed)
    main = pick_diverse(
        candidates(videos, thresholds, tags), embedding_of, n - n_audit, answered=answered
    )
    audit = audit_items(videos, thresholds, n_audit, rng, tags, answered)
    queue = list(main)
    # Audit items are spread through the queue, not bunched at the end.
    for k, q in enumerate(audit):
        queue.insert(min(len(queue), (k + 1) * max(1, len(queue) // (len(audit) + 1))), q)
    return queue[:n]


def tag_precision(verdicts: list[dict]) -> dict[str, dict]:
    """Per tag: answers so far and precision estimated from audit answers (yes / yes+no)."""
    out: dict[str, dict] = {}
    for v in verdicts:
        if v["verdict"] not in ("yes", "no", "unsure"):
            continue
        d = out.setdefault(v["tag"], {"answered": 0, "audit_yes": 0, "audit_no": 0})
        d["answered"] += 1
        if v.get("source") == "audit" and v["verdict"] != "unsure":
            d["audit_" + v["verdict"]] += 1
    for d in out.values():
        judged = d["audit_yes"] + d["audit_no"]
        d["precision"] = d["audit_yes"] / judged if judged else None
    return out
