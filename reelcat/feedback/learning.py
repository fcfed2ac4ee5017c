"""Learning from people's answers, on stored embeddings only: what an answer may change
beyond its own shot. Pure: reelcat.feedback.step reads the answers and writes the
result; the quality benchmark's simulated reviewer calls the same `adapt`.

An answer always fixes its own frame and shot (the `frame_verdicts` view). A vocabulary
tag's accept level, which reaches every video, moves only when the answers support it:

- Evidence first: at least MIN_ANSWERS answers about the tag, both "yes" and "no", from
  at least MIN_VIDEOS videos. One answer, or a handful, never moves a tag archive-wide.
- The level moves past archive frames only where at least MIN_FLIPPED answers from two
  or more videos lie between the old and the new level (the frames whose label would
  flip), and they clearly say the move is right: accepting more needs their "yes" share
  above YES_SHARE_TO_ACCEPT with 90% confidence, accepting fewer needs it below
  YES_SHARE_TO_REJECT with 90% confidence, and so must the MIN_FLIPPED of them nearest
  the new level on their own (so one stray answer far out does not drag it there). It
  moves past answers only while they lie at most MAX_GAP apart, and stops at most
  MAX_STEP beyond the last: nobody spoke for the scores in a wider gap.
  Answers that agree with the model (every "yes" above the level, every "no" below)
  leave nothing to flip: they never move it.
- The question queue picks frames by the model's score, so among frames of about the
  same score the answers are a fair sample: the shares above compare answers only with
  the frames between the two levels. Weighting each answer by the archive frames its
  score band holds per answer (`ask_weights`, the inverse of the chance the queue asked
  about such a frame) says how many frames a move flips; it ranks the moves that pass.
- A tag's direction in the image space never moves. Measured on the quality benchmark
  (benchmarks/feedback_loop.py), a probe fitted to every frame of one half of the
  archive lowers the other half's F1 on average, and by up to 0.56 for one tag: with
  this few answers it would learn the answered videos' look, not the tag.

Taught concepts (named groups) have no text embedding: their prototype is the group's
centroid moved toward the "yes" answers and away from the "no" answers (`teach_concept`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reelcat.tagging.scoring import TextBank, score_embeddings

MIN_ANSWERS = 6  # answers about a tag before anything beyond their shots changes
MIN_VIDEOS = 2  # ... from at least this many videos
MIN_FLIPPED = 6  # answers between the old and the new level, at least
YES_SHARE_TO_ACCEPT = 0.5  # accept more only where most of the flipped answers say yes
YES_SHARE_TO_REJECT = 0.25  # accept fewer only where few of them do
CONFIDENCE_Z = 1.2816  # one-sided 90% (Wilson bounds on a weighted share)
SCORE_BAND = 0.05  # width of the score bands answers are weighted in
MAX_STEP = 0.1  # a level stops at most this far past the last answer it moved past
MAX_GAP = 0.15  # a level moves past answers only while they lie at most this far apart
STEP_PAST_LAST = 0.01  # ... and this far when no answer lies beyond
MAX_WEIGHT_RATIO = 3.0  # no answer weighs more than this many times the median answer


@dataclass
class Examples:
    """The answers in force about one tag, one row per answer (its anchor frame)."""

    embeddings: np.ndarray  # (n, dim) unit vectors
    said_yes: np.ndarray  # (n,) bool
    videos: np.ndarray  # (n,) video ids
    verdict_ids: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, yes: list, no: list, yes_videos: list, no_videos: list) -> Examples:
        rows = list(yes) + list(no)
        emb = np.asarray(rows, np.float32).reshape(len(rows), -1 if rows else 0)
        said = np.array([True] * len(yes) + [False] * len(no))
        return cls(emb, said, np.asarray(list(yes_videos) + list(no_videos), dtype=object))

    def __len__(self) -> int:
        return len(self.said_yes)


@dataclass
class TagDecision:
    """What the answers about one tag changed beyond their own shots, and why."""

    tag: str
    answers: int
    videos: int
    accept_before: float
    accept_after: float
    reason: str


def not_enough(ex: Examples) -> str | None:
    """Why these answers may not move the tag archive-wide, or None if they may."""
    n_yes = int(ex.said_yes.sum())
    n_videos = len(set(ex.videos))
    if len(ex) < MIN_ANSWERS:
        return f"{len(ex)} answer(s): fewer than {MIN_ANSWERS}, so only their own shots changed"
    if n_yes == 0 or n_yes == len(ex):
        side = "yes" if n_yes else "no"
        return f"all {len(ex)} answers say {side}: only their own shots changed"
    if n_videos < MIN_VIDEOS:
        return "all answers are about one video: only its shots changed"
    return None


def ask_weights(answer_scores: np.ndarray, archive_scores: np.ndarray) -> np.ndarray:
    """Per answer: archive frames per answer in its score band (inverse propensity)."""
    bands = int(np.ceil(1 / SCORE_BAND))
    a = np.clip((answer_scores / SCORE_BAND).astype(int), 0, bands - 1)
    s = np.clip((archive_scores / SCORE_BAND).astype(int), 0, bands - 1)
    frames = np.bincount(s, minlength=bands).astype(np.float64)
    asked = np.bincount(a, minlength=bands).astype(np.float64)
    w = np.maximum(frames[a], 1.0) / asked[a]
    # truncated: one answer far from the rest (an audit item deep in the archive's bulk)
    # would otherwise outweigh every other answer
    return np.minimum(w, MAX_WEIGHT_RATIO * float(np.median(w)))


def share_bounds(said_yes: np.ndarray) -> tuple[float, float, float]:
    """The "yes" share of some answers and its Wilson one-sided bounds (90%)."""
    n = len(said_yes)
    p = float(said_yes.mean())
    z2 = CONFIDENCE_Z**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = CONFIDENCE_Z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return p, centre - half, centre + half


def fit_level(
    scores: np.ndarray,
    said_yes: np.ndarray,
    videos: np.ndarray,
    weights: np.ndarray,
    level: float,
) -> float:
    """The accept level the answers support (see the module docstring), or `level` when
    no move passes. A move flips the answers between the old level and the k-th answered
    score beyond it. Among the moves that pass, the one flipping the most
    weighted frames the right way."""
    best, best_gain = level, 0.0
    above = np.unique(scores[scores >= level])
    below = np.unique(scores[scores < level])[::-1]
    moves = [(True, s, nxt) for s, nxt in zip(above, [*above[1:], None], strict=False)] + [
        (False, s, nxt) for s, nxt in zip(below, [*below[1:], None], strict=False)
    ]
    reach = {True: level, False: level}  # how far each way answers lie without a gap
    for raising, edge, nxt in moves:
        if abs(edge - reach[raising]) > MAX_GAP:
            continue  # a stretch of scores nobody answered about lies before this edge
        reach[raising] = edge
        # halfway to the next answered score, and no further than MAX_STEP past the last
        # answer it flips: nobody spoke for the frames beyond
        step = min(abs(nxt - edge) / 2, MAX_STEP) if nxt is not None else STEP_PAST_LAST
        if raising:
            flipped = (scores >= level) & (scores <= edge)
            new = edge + step
        else:
            flipped = (scores < level) & (scores >= edge)
            new = edge - step
        if flipped.sum() < MIN_FLIPPED or len(set(videos[flipped])) < MIN_VIDEOS:
            continue
        # the whole stretch, and its far end (the MIN_FLIPPED answers nearest the new
        # level) on its own, must say so with confidence
        far = np.flatnonzero(flipped)[np.argsort(scores[flipped])]
        far = far[-MIN_FLIPPED:] if raising else far[:MIN_FLIPPED]
        (share, low, high), (_, far_low, far_high) = (
            share_bounds(said_yes[flipped]),
            share_bounds(said_yes[far]),
        )
        if raising and max(high, far_high) < YES_SHARE_TO_REJECT:
            gain = (YES_SHARE_TO_REJECT - share) * weights[flipped].sum()
        elif not raising and min(low, far_low) > YES_SHARE_TO_ACCEPT:
            gain = (share - YES_SHARE_TO_ACCEPT) * weights[flipped].sum()
        else:
            continue
        if gain > best_gain:
            best, best_gain = float(np.clip(new, 0.01, 0.99)), gain
    return best


def _level_for(bank: TextBank, j: int, ex: Examples, archive_scores: np.ndarray, level: float):
    scores = _scores_of(bank, j, ex.embeddings)
    weights = ask_weights(scores, archive_scores)
    return fit_level(scores, ex.said_yes, ex.videos, weights, level)


@dataclass
class Adaptation:
    accept: dict[str, float]  # tag -> accept level in force (baseline unless moved)
    answers: dict[str, int]  # tag -> yes/no answers
    decisions: dict[str, TagDecision]


def adapt(
    bank: TextBank,
    examples: dict[str, Examples],
    baseline_accept: dict[str, float],
    archive: np.ndarray,
) -> Adaptation:
    """The whole learning rule over the answered vocabulary tags (see the module
    docstring): per tag, the accept level the answers support. `archive` is stored
    embeddings of (a sample of) the archive: how many frames each answer stands for."""
    scores = score_embeddings(archive, bank)[1] if len(archive) else None
    accept, answers, decisions = {}, {}, {}
    for tag, ex in sorted(examples.items()):
        if tag not in bank.tags or not len(ex):
            continue
        j = bank.tags.index(tag)
        level = baseline_accept.get(tag, 0.5)
        answers[tag] = len(ex)
        why = not_enough(ex)
        after = level
        if why is None:
            after = _level_for(
                bank, j, ex, scores[:, j] if scores is not None else np.zeros(0), level
            )
        accept[tag] = after
        decisions[tag] = TagDecision(
            tag, len(ex), len(set(ex.videos)), level, after, why or _explain(level, after)
        )
    return Adaptation(accept, answers, decisions)


def _explain(before: float, after: float) -> str:
    if after < before:
        return (
            f"threshold {before:.2f} → {after:.2f}: most answers between the two levels "
            "say yes, so the tag is accepted on more frames"
        )
    if after > before:
        return (
            f"threshold {before:.2f} → {after:.2f}: few answers between the two levels say "
            "yes, so the tag is accepted on fewer frames"
        )
    return "the answers do not clearly support a new threshold: only their own shots changed"


def _scores_of(bank: TextBank, j: int, embeddings: np.ndarray) -> np.ndarray:
    """Tag j's calibrated scores of some frames, with its rivals as in the archive."""
    if not len(embeddings):
        return np.zeros(0, np.float32)
    return score_embeddings(np.asarray(embeddings, np.float32), bank)[1][:, j]


# --- taught concepts -----------------------------------------------------------------
ROCCHIO_YES = 0.75  # pull of the mean "yes" answer on the prototype (centroid: 1)
ROCCHIO_NO = 0.25  # push of the mean "no" answer


@dataclass
class Concept:
    prototype: np.ndarray  # unit vector
    accept: float  # cosine to the prototype
    review: float


def teach_concept(centroid: np.ndarray, accept: float, review: float, ex: Examples) -> Concept:
    """A named group's tag after its answers: the group's centroid moved toward the mean
    "yes" answer and away from the mean "no" one (Rocchio's relevance feedback), and its
    accept level (cosine to the prototype) moved by the same rule as a vocabulary tag's
    (`fit_level`; the group's members count as "yes" answers)."""
    proto = np.asarray(centroid, np.float64)
    if len(ex):
        yes, no = ex.embeddings[ex.said_yes], ex.embeddings[~ex.said_yes]
        if len(yes):
            proto = proto + ROCCHIO_YES * yes.mean(0)
        if len(no):
            proto = proto - ROCCHIO_NO * no.mean(0)
    proto = (proto / max(np.linalg.norm(proto), 1e-8)).astype(np.float32)
    if not_enough(ex) is not None:
        return Concept(proto, accept, review)
    sims = ex.embeddings @ proto
    cut = fit_level(sims, ex.said_yes, ex.videos, np.ones(len(sims)), accept)
    return Concept(proto, cut, cut - max(accept - review, 0.02))
