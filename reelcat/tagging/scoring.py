"""Zero-shot tag scores from stored image embeddings: no video is decoded here.

Each tag is scored on its own. `cosine` is the raw similarity to the tag's prompt
ensemble (open_clip templates over the tag's phrasings). `score` is a calibrated
probability: a softmax at the model's logit scale between the tag, its own negatives,
the vocabulary's background prompts and its two strongest rivals in the frame, so a
tag nothing resembles stays low and a tag need not beat the whole vocabulary.
`rank` orders the tags of one frame by cosine.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np
import pyarrow as pa

from reelcat.storage.schemas import FRAME_TAGS
from reelcat.storage.views import embeddings
from reelcat.tagging.vocabulary import Vocabulary


@dataclass
class TextBank:
    """Text embeddings for one (model, vocabulary): computed once, reused for every frame.

    `negatives` holds each distinct negative prompt once (the background prompts are
    shared by every tag); `membership[i, j]` says negative i counts against tag j.
    """

    tags: list[str]
    positives: np.ndarray  # (n_tags, dim)
    negatives: np.ndarray  # (n_negatives, dim)
    membership: np.ndarray  # (n_negatives, n_tags) bool
    logit_scale: float
    # Learned from people's answers (reelcat.feedback.learning): tag j is scored against
    # p_j + probes[j] instead of its text embedding p_j alone, i.e. its cosine gains
    # e @ probes[j]. Rows of unanswered tags are zero. Rivals still compete with their
    # text cosine, so adapting one tag never moves another tag's score.
    probes: np.ndarray | None = None  # (n_tags, dim)

    def to_npz(self, path) -> None:
        extra = {} if self.probes is None else {"probes": self.probes}
        np.savez(
            path,
            tags=np.array(self.tags),
            positives=self.positives,
            negatives=self.negatives,
            membership=self.membership,
            logit_scale=self.logit_scale,
            **extra,
        )

    @classmethod
    def from_npz(cls, path) -> TextBank:
        z = np.load(path)
        return cls(
            [str(t) for t in z["tags"]],
            z["positives"],
            z["negatives"],
            z["membership"],
            float(z["logit_scale"]),
            z["probes"] if "probes" in z else None,
        )

    def with_probe(self, j: int, probe: np.ndarray) -> TextBank:
        """A copy in which tag j's embedding is moved by `probe` (cosine units)."""
        probes = (
            np.zeros(self.positives.shape, np.float32)
            if self.probes is None
            else self.probes.copy()
        )
        probes[j] = probe
        return TextBank(
            list(self.tags),
            self.positives,
            self.negatives,
            self.membership,
            self.logit_scale,
            probes,
        )

    def probe_shift(self, e: np.ndarray) -> np.ndarray | float:
        """e @ probes.T, what the answers add to each tag's cosine; 0 for an unadapted bank."""
        if self.probes is None:
            return 0.0
        adapted = np.flatnonzero(self.probes.any(axis=1))
        if not len(adapted):
            return 0.0
        shift = np.zeros((len(e), len(self.tags)), np.float32)
        shift[:, adapted] = e @ self.probes[adapted].T
        return shift


# open_clip's SIMPLE_IMAGENET_TEMPLATES, spelled out: a bank made from cached text
# embeddings then needs no open_clip import (tests check they are the same).
TEMPLATES = (
    "itap of a {}.",
    "a bad photo of the {}.",
    "a origami {}.",
    "a photo of the large {}.",
    "a {} in a video game.",
    "art of the {}.",
    "a photo of the small {}.",
)


def templated(phrase: str) -> list[str]:
    """The texts the text tower reads for one phrasing: the phrasing in every template."""
    return [t.format(phrase) for t in TEMPLATES]


def negative_prompts(vocab: Vocabulary) -> list[str]:
    """Each distinct negative prompt once: the background's, then the tags' own."""
    return list(dict.fromkeys([*vocab.background, *(n for t in vocab.tags for n in t.negatives)]))


def bank_texts(vocab: Vocabulary) -> list[str]:
    """Every text the vocabulary's bank is made from, once each."""
    phrases = [*(p for t in vocab.tags for p in t.prompts), *negative_prompts(vocab)]
    return list(dict.fromkeys(text for p in phrases for text in templated(p)))


def build_text_bank(
    vocab: Vocabulary, vectors: Mapping[str, np.ndarray], logit_scale: float
) -> TextBank:
    """The bank from the unit embeddings of `bank_texts(vocab)`: open_clip's zero-shot
    ensemble, a phrasing's mean over templates, then a tag's mean over its phrasings,
    each normalised again."""

    def ensemble(phrases) -> np.ndarray:
        per_phrase = [_unit(np.mean([vectors[t] for t in templated(p)], axis=0)) for p in phrases]
        return _unit(np.mean(per_phrase, axis=0))

    prompts = negative_prompts(vocab)
    membership = np.zeros((len(prompts), len(vocab.tags)), bool)
    for i, p in enumerate(prompts):
        for j, tag in enumerate(vocab.tags):
            membership[i, j] = p in vocab.background or p in tag.negatives
    return TextBank(
        [t.name for t in vocab.tags],
        np.stack([ensemble(t.prompts) for t in vocab.tags]),
        np.stack([ensemble((p,)) for p in prompts]),
        membership,
        logit_scale,
    )


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x)).astype(np.float32)


RIVALS = 2  # the strongest other tags a tag must beat (multi-label, unlike a full softmax)
_CHUNK = 65_536
_BLOCK = 2_048  # rows per block of the element-wise steps: fits in cache, one per thread
_EXP_CAP = 60.0  # exp(60) is finite in float32 and outweighs any sum of the others


def score_embeddings(emb: np.ndarray, bank: TextBank) -> tuple[np.ndarray, np.ndarray]:
    """(n_frames, dim) unit vectors -> cosine and calibrated score, each (n_frames, n_tags).

    The calibrated score of tag j is a softmax at the model's logit scale of j's cosine
    against its own negatives, the background prompts and its two strongest rival tags
    in that frame: a tag is judged on its own, not against the whole vocabulary, yet a
    frame that looks more like something else does not pass.

    Speed (1M frames x 1,000 tags in about 20 s on 2 cores): the matrix products run per
    chunk of _CHUNK frames; the element-wise steps run per block of _BLOCK frames, in
    place in scratch that stays in cache, blocks spread over the cores (NumPy releases
    the GIL); the r+1 largest come from a partition rather than a sort of each row, and
    an unadapted bank reuses exp_cos as exp_text. The arithmetic, and so every bit of
    the result, is that of the plain expressions in the comments (float32, as stored
    embeddings and text banks are).
    """
    n, k = len(emb), len(bank.tags)
    cosine = np.empty((n, k), np.float32)
    score = np.empty((n, k), np.float32)
    member = bank.membership.astype(np.float32)
    workers = min(os.cpu_count() or 1, -(-min(n, _CHUNK) // _BLOCK))
    pool = ThreadPoolExecutor(workers) if workers > 1 else None
    try:
        for a in range(0, n, _CHUNK):
            e = emb[a : a + _CHUNK]
            text_cos = cosine[a : a + len(e)]
            np.matmul(e, bank.positives.T, out=text_cos)  # text_cos = e @ positives.T
            probe = bank.probe_shift(e)
            cos = text_cos if np.isscalar(probe) else text_cos + probe
            neg = e @ bank.negatives.T
            # shift = max(text_cos.max(axis=1), neg.max(axis=1)), per frame: the text
            # cosines, not the adapted ones, so that a probe that raises its tag far above
            # the rest cannot drive every other exp (and so a denominator) to zero
            shift = text_cos.max(axis=1, keepdims=True)
            exp_neg = None
            if neg.size:
                np.maximum(shift, neg.max(axis=1, keepdims=True), out=shift)
                # exp_neg = exp(logit_scale * (neg - shift)) @ member
                exp_neg = _scaled_exp(neg, shift, bank.logit_scale, neg) @ member
            out = score[a : a + len(e)]
            blocks = [
                (
                    cos[b : b + _BLOCK],
                    text_cos[b : b + _BLOCK],
                    shift[b : b + _BLOCK],
                    None if exp_neg is None else exp_neg[b : b + _BLOCK],
                    out[b : b + _BLOCK],
                )
                for b in range(0, len(e), _BLOCK)
            ]
            score_block = partial(_score_block, bank=bank, adapted=cos is not text_cos)
            if pool is None:
                for block in blocks:
                    score_block(*block)
            else:
                list(pool.map(score_block, *zip(*blocks, strict=True)))
    finally:
        if pool is not None:
            pool.shutdown()
    return cosine, score


def _score_block(
    cos: np.ndarray,
    text_cos: np.ndarray,
    shift: np.ndarray,
    exp_neg: np.ndarray | None,
    out: np.ndarray,
    *,
    bank: TextBank,
    adapted: bool,
) -> None:
    """The calibrated scores of a block of frames, into `out`."""
    k = len(bank.tags)
    exp_cos = _scaled_exp(
        cos,
        shift,
        bank.logit_scale,
        np.empty(cos.shape, np.float32),
        cap=_EXP_CAP if adapted else None,
    )
    # out = exp_cos + exp_neg (+ rivals) -> exp_cos / out
    np.add(exp_cos, 0.0 if exp_neg is None else exp_neg, out=out)
    if k > 1:
        # Rivals compete with their text score: an adapted tag never crowds others out.
        exp_text = (
            _scaled_exp(text_cos, shift, bank.logit_scale, np.empty(cos.shape, np.float32))
            if adapted
            else exp_cos
        )
        r = min(RIVALS, k - 1)
        top = np.partition(exp_text, k - r - 1, axis=1)[:, k - r - 1 :]
        top = -np.sort(-top, axis=1)  # the r+1 largest per frame, largest first
        # A tag among the top r+1 takes the rest; others take the top r:
        # rivals = where(exp_text >= top[r-1], top_sum + top[r] - exp_text, top_sum)
        top_sum = top[:, :r].sum(axis=1, keepdims=True)
        rivals = np.subtract(top_sum + top[:, r : r + 1], exp_text)
        np.copyto(
            rivals, np.broadcast_to(top_sum, rivals.shape), where=~(exp_text >= top[:, r - 1 : r])
        )
        np.add(out, rivals, out=out)
    np.divide(exp_cos, out, out=out)  # score = exp_cos / (exp_cos + exp_neg + rivals)


def _scaled_exp(
    x: np.ndarray, shift: np.ndarray, scale: float, out: np.ndarray, cap: float | None = None
) -> np.ndarray:
    """exp(scale * (x - shift)), written into `out` (which may be x itself); with `cap`,
    the exponent is clipped there (an adapted cosine may sit far above the shift)."""
    np.subtract(x, shift, out=out)
    np.multiply(out, scale, out=out)
    if cap is not None:
        np.minimum(out, cap, out=out)
    return np.exp(out, out=out)


def tag_rows(frames: pa.Table, bank: TextBank, model_id: str, vocabulary_id: str) -> pa.Table:
    """Long-form tag rows (frame x tag) for a batch of frames, built in Arrow."""
    n, k = frames.num_rows, len(bank.tags)
    if n == 0:
        return FRAME_TAGS.empty_table()
    emb = embeddings(frames.column("embedding"))
    cosine, score = score_embeddings(emb, bank)
    rank = np.argsort(np.argsort(-cosine, axis=1), axis=1) + 1
    each_frame = pa.array(np.repeat(np.arange(n), k))  # frame of each row, k rows a frame
    return pa.table(
        {
            "video_id": frames.column("video_id").take(each_frame),
            "t": frames.column("t").take(each_frame),
            "frame": frames.column("frame").take(each_frame),
            "tag": pa.array(bank.tags, pa.string()).take(pa.array(np.tile(np.arange(k), n))),
            "cosine": cosine.reshape(-1),
            "score": score.reshape(-1),
            "rank": rank.reshape(-1).astype(np.int16),
            "model_id": pa.repeat(pa.scalar(model_id, pa.string()), n * k),
            "vocabulary_id": pa.repeat(pa.scalar(vocabulary_id, pa.string()), n * k),
        },
        schema=FRAME_TAGS,
    )
