"""Zero-shot tag scores from stored image embeddings: no video is decoded here.

Each tag is scored on its own. `cosine` is the raw similarity to the tag's prompt
ensemble (open_clip templates over the tag's phrasings). `score` is a calibrated
probability: a softmax at the model's logit scale between the tag, its own negatives,
the vocabulary's background prompts and its two strongest rivals in the frame, so a
tag nothing resembles stays low and a tag need not beat the whole vocabulary.
`rank` orders the tags of one frame by cosine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from reelcat.store import FRAME_TAGS
from reelcat.vocabulary import Vocabulary


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

    def to_npz(self, path) -> None:
        np.savez(path, tags=np.array(self.tags), positives=self.positives,
                 negatives=self.negatives, membership=self.membership,
                 logit_scale=self.logit_scale)

    @classmethod
    def from_npz(cls, path) -> TextBank:
        z = np.load(path)
        return cls([str(t) for t in z["tags"]], z["positives"], z["negatives"],
                   z["membership"], float(z["logit_scale"]))

    def only(self, j: int) -> TextBank:
        """The bank of tag j alone (its negatives, no rivals): for per-tag checks."""
        rows = self.membership[:, j]
        return TextBank([self.tags[j]], self.positives[j : j + 1], self.negatives[rows],
                        np.ones((int(rows.sum()), 1), bool), self.logit_scale)

    def with_negative(self, j: int, vector: np.ndarray) -> TextBank:
        """A copy with one more negative that counts against tag j only."""
        member = np.zeros((1, len(self.tags)), bool)
        member[0, j] = True
        return TextBank(list(self.tags), self.positives.copy(),
                        np.concatenate([self.negatives, vector[None, :].astype(np.float32)]),
                        np.concatenate([self.membership, member]), self.logit_scale)


def build_text_bank(model, vocab: Vocabulary) -> TextBank:
    positives = model.embed_prompt_sets([t.prompts for t in vocab.tags])
    prompts = list(dict.fromkeys([*vocab.background, *(n for t in vocab.tags for n in t.negatives)]))
    negatives = model.embed_prompt_sets([(p,) for p in prompts])
    membership = np.zeros((len(prompts), len(vocab.tags)), bool)
    for i, p in enumerate(prompts):
        for j, tag in enumerate(vocab.tags):
            membership[i, j] = p in vocab.background or p in tag.negatives
    return TextBank([t.name for t in vocab.tags], positives, negatives, membership,
                    model.logit_scale)


RIVALS = 2  # the strongest other tags a tag must beat (multi-label, unlike a full softmax)
_CHUNK = 65_536


def score_embeddings(emb: np.ndarray, bank: TextBank) -> tuple[np.ndarray, np.ndarray]:
    """(n_frames, dim) unit vectors -> cosine and calibrated score, each (n_frames, n_tags).

    The calibrated score of tag j is a softmax at the model's logit scale of j's cosine
    against its own negatives, the background prompts and its two strongest rival tags
    in that frame: a tag is judged on its own, not against the whole vocabulary, yet a
    frame that looks more like something else does not pass.
    """
    n, k = len(emb), len(bank.tags)
    cosine = np.empty((n, k), np.float32)
    score = np.empty((n, k), np.float32)
    member = bank.membership.astype(np.float32)
    for a in range(0, n, _CHUNK):
        e = emb[a : a + _CHUNK]
        cos = e @ bank.positives.T
        neg = e @ bank.negatives.T
        shift = np.maximum(cos.max(axis=1, keepdims=True), neg.max(axis=1, keepdims=True)
                           if neg.size else -np.inf)
        exp_cos = np.exp(bank.logit_scale * (cos - shift))
        exp_neg = np.exp(bank.logit_scale * (neg - shift)) @ member if neg.size else 0.0
        rivals = 0.0
        if k > 1:
            r = min(RIVALS, k - 1)
            top = -np.sort(-exp_cos, axis=1)[:, : r + 1]  # the r+1 largest per frame
            # A tag among the top r+1 takes the rest; others take the top r.
            top_sum = top[:, :r].sum(axis=1, keepdims=True)
            in_top = exp_cos >= top[:, r - 1 : r]
            rivals = np.where(in_top, top_sum + top[:, r : r + 1] - exp_cos, top_sum)
        score[a : a + len(e)] = exp_cos / (exp_cos + exp_neg + rivals)
        cosine[a : a + len(e)] = cos
    return cosine, score


def tag_rows(frames: pa.Table, bank: TextBank, model_id: str, vocabulary_id: str) -> pa.Table:
    """Long-form tag rows (frame x tag) for one video's frames table."""
    n, k = frames.num_rows, len(bank.tags)
    if n == 0:
        return FRAME_TAGS.empty_table()
    emb = np.asarray(frames.column("embedding").to_pylist(), dtype=np.float32)
    cosine, score = score_embeddings(emb, bank)
    rank = np.argsort(np.argsort(-cosine, axis=1), axis=1) + 1
    return pa.table(
        {
            "video_id": np.repeat(frames.column("video_id").to_numpy(zero_copy_only=False), k),
            "t": np.repeat(frames.column("t").to_numpy(), k),
            "frame": np.repeat(frames.column("frame").to_numpy(), k),
            "tag": np.tile(np.array(bank.tags, dtype=object), n),
            "cosine": cosine.reshape(-1),
            "score": score.reshape(-1),
            "rank": rank.reshape(-1).astype(np.int16),
            "model_id": [model_id] * (n * k),
            "vocabulary_id": [vocabulary_id] * (n * k),
        },
        schema=FRAME_TAGS,
    )
