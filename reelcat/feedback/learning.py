"""Learning from people's verdicts, on stored embeddings only: no video is decoded.

For each tag with answers, the tag itself moves toward what people said: a linear probe
on the stored image embeddings starts at the tag's text embedding and is moved by the
yes/no frames (an L2-regularised logistic regression on top of the tag's current score,
see `fit_probe`), so look-alikes of a rejected frame score lower and those of an accepted
one higher — but only when the answers carry across videos (see `examples_generalise`).
Then the tag's accept threshold is re-fitted for the best expected F1 over the archive,
where the answers correct the model's own scores near the frames they are about, and it
moves only if the answers themselves prefer the new cut to the old (see `fit_threshold`).
Tags nobody answered about are left exactly as they were. Pure: reelcat.feedback.step
reads the answers and writes the result."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from reelcat.tagging.scoring import TextBank, score_embeddings

MIN_ANSWERS_FOR_THRESHOLD = 4


@dataclass
class Examples:
    yes: list[np.ndarray]
    no: list[np.ndarray]
    yes_videos: list[str] | None = None  # where each example came from, when known
    no_videos: list[str] | None = None


MIN_CROSS_VIDEO_AGREEMENT = 0.6


def examples_generalise(ex: Examples) -> bool:
    """Do the answers carry over between videos? Each answered frame's nearest answered
    frame from another video should mostly share its answer, for the "yes" frames and for
    the "no" frames alike (each side on its own, so many "no"s cannot hide "yes"s that
    only match their own video). If not (the model's image space does not separate the
    two, or all "yes"s come from one video), leaning on examples would only learn that
    video's look: the tag keeps its text score (its threshold is still re-fitted)."""
    if not (ex.yes and ex.no) or ex.yes_videos is None or ex.no_videos is None:
        return bool(ex.yes and ex.no)
    emb = np.asarray(ex.yes + ex.no, np.float32)
    label = np.array([True] * len(ex.yes) + [False] * len(ex.no))
    video = np.asarray(ex.yes_videos + ex.no_videos, dtype=object)
    sims = emb @ emb.T
    sims[video[:, None] == video[None, :]] = -np.inf
    ok = np.isfinite(sims).any(axis=1)
    if ok.sum() < 4:
        return True  # (nearly) all from one video: nothing to check against
    agrees = label[ok] == label[np.argmax(sims[ok], axis=1)]
    return all(
        agrees[side].mean() >= MIN_CROSS_VIDEO_AGREEMENT
        for side in (label[ok], ~label[ok])
        if side.any()
    )


PROBE_L2 = 10.0  # pull of the probe toward the text embedding, against the answers
PROBE_STEPS = 25


def fit_probe(bank: TextBank, j: int, yes: list[np.ndarray], no: list[np.ndarray]) -> np.ndarray:
    """How far tag j's embedding moves to fit the answers: the probe d (cosine units)
    maximising sum log P(answer) - PROBE_L2 * |d|^2, with P(yes | e) = sigmoid(logit of
    the tag's current calibrated score + logit_scale * e @ d). Starting from the text
    embedding (d = 0) with that prior, few answers move it little; the calibrated
    score's logit is exactly logit_scale * cosine plus terms not depending on the tag's
    own embedding, so the fitted P(yes) is the score the moved tag gets. Newton steps."""
    x = np.asarray(yes + no, np.float64)
    y = np.array([1.0] * len(yes) + [0.0] * len(no))
    s = np.clip(_scores_of(bank, j, yes + no).astype(np.float64), 1e-6, 1 - 1e-6)
    offset = np.log(s / (1 - s))
    x_scaled = bank.logit_scale * x
    d = np.zeros(x.shape[1])
    for _ in range(PROBE_STEPS):
        p = 0.5 * (1 + np.tanh((offset + x_scaled @ d) / 2))  # sigmoid, without overflow
        grad = x_scaled.T @ (p - y) + 2 * PROBE_L2 * d
        hess = (x_scaled * (p * (1 - p))[:, None]).T @ x_scaled + 2 * PROBE_L2 * np.eye(len(d))
        step = np.linalg.solve(hess, grad)
        d -= step
        if np.abs(step).max() < 1e-7:
            break
    return d.astype(np.float32)


def adapt_bank(bank: TextBank, examples: dict[str, Examples], accept: dict[str, float]) -> TextBank:
    """A copy of the bank in which each answered tag whose answers generalise (both
    sides, carrying across videos) and disagree with it somewhere (a "yes" under its
    accept level or a "no" at or above it) has its embedding moved by `fit_probe`; every
    other tag, answered or not, keeps its text embedding. Answers that all agree with
    the model give no reason to move it, however sure the probe would get."""
    adapted = bank
    for j, tag in enumerate(bank.tags):
        ex = examples.get(tag)
        if not (ex is not None and ex.yes and ex.no and examples_generalise(ex)):
            continue
        level = accept.get(tag, 0.5)
        if _scores_of(bank, j, ex.yes).min() >= level and _scores_of(bank, j, ex.no).max() < level:
            continue
        adapted = adapted.with_probe(j, fit_probe(bank, j, ex.yes, ex.no))
    return adapted


ANSWER_REACH = 0.05  # an answer speaks for archive frames within this score of it
MODEL_VOICE = 1.0  # the model's own score counts as this many answers about each frame


def fit_threshold(
    yes_scores: np.ndarray, no_scores: np.ndarray, default: float, archive_scores: np.ndarray
) -> float:
    """The accept level with the best expected F1 over the archive.

    Each archive frame is "yes" with probability p: its calibrated score, corrected by
    the answers about frames scored within ANSWER_REACH of it (the score counts as
    MODEL_VOICE answers). The questions sit near the current threshold, so they correct
    the model where it is unsure, while the rest of the archive keeps the model's own
    estimate: the threshold cannot run off to where nobody answered (plain accuracy
    over such a biased sample of answers does). Few answers, or no "yes": the default.
    The cut moves only when it does strictly better than the default on the answers
    themselves (F1 over the answered frames). Otherwise a few "yes" answers low in the
    score range speak for the thousands of frames scored near them and the cut falls to
    the floor, accepting most of the archive; and answers that agree with the default
    (every "yes" above it, every "no" below) would still move it wherever the model's
    own scores, not the people, put the optimum."""
    if len(yes_scores) + len(no_scores) < MIN_ANSWERS_FOR_THRESHOLD or not len(yes_scores):
        return default
    s = np.sort(np.asarray(archive_scores, np.float64))[::-1]
    if not len(s):
        return default
    answered = np.concatenate([yes_scores, no_scores])
    said_yes = np.concatenate([np.ones(len(yes_scores)), np.zeros(len(no_scores))])
    p = np.empty(len(s))
    for i in range(0, len(s), 4096):  # (frames x answers) a block at a time
        near = np.abs(s[i : i + 4096, None] - answered[None, :]) <= ANSWER_REACH
        p[i : i + 4096] = (MODEL_VOICE * s[i : i + 4096] + near @ said_yes) / (
            MODEL_VOICE + near.sum(axis=1)
        )
    # accepting the k highest-scored frames: expected F1 = 2 TP / (positives + k)
    expected_f1 = 2 * np.cumsum(p) / (p.sum() + np.arange(1, len(s) + 1))
    cut = float(np.clip(s[int(np.argmax(expected_f1))], 0.05, 0.95))

    def f1_on_answers(c: float) -> float:
        accepted = answered >= c
        return 2 * float(said_yes[accepted].sum()) / (accepted.sum() + said_yes.sum())

    return cut if f1_on_answers(cut) > f1_on_answers(default) else default


@dataclass
class Adaptation:
    id: str
    bank: TextBank
    accept: dict[str, float]  # tag -> accept level fitted to its answers
    answers: dict[str, int]  # tag -> yes/no answers


def adapt(
    bank: TextBank,
    examples: dict[str, Examples],
    baseline_accept: dict[str, float],
    archive: np.ndarray,
) -> Adaptation:
    """The whole learning rule: each answered tag moved by `adapt_bank`, then its accept
    level re-fitted by `fit_threshold` over `archive` (stored embeddings of a sample of
    the archive) scored with the moved bank. The product (reelcat.feedback.step) and the
    quality benchmark's simulated reviewer both call this."""
    adapted = adapt_bank(bank, examples, baseline_accept)
    scores = score_embeddings(archive, adapted)[1] if len(archive) else None
    accept: dict[str, float] = {}
    answers: dict[str, int] = {}
    for tag, ex in examples.items():
        if tag not in adapted.tags:
            continue
        answers[tag] = len(ex.yes) + len(ex.no)
        j = adapted.tags.index(tag)
        yes_s, no_s = (_scores_of(adapted, j, e) for e in (ex.yes, ex.no))
        accept[tag] = fit_threshold(
            yes_s,
            no_s,
            baseline_accept.get(tag, 0.5),
            scores[:, j] if scores is not None else np.zeros(0),
        )
    digest = hashlib.sha256(
        json.dumps(
            {
                t: [
                    len(examples[t].yes),
                    len(examples[t].no),
                    round(float(np.sum(examples[t].yes)) + float(np.sum(examples[t].no)), 5),
                ]
                for t in sorted(answers)
            }
            | {"accept": accept},
            sort_keys=True,
        ).encode()
    ).hexdigest()[:8]
    return Adaptation(f"fb-{digest}", adapted, accept, answers)


def _scores_of(bank: TextBank, j: int, embeddings: list[np.ndarray]) -> np.ndarray:
    """Tag j's calibrated scores of some frames, with its rivals as in the archive."""
    if not embeddings:
        return np.zeros(0, np.float32)
    return score_embeddings(np.asarray(embeddings, np.float32), bank)[1][:, j]
