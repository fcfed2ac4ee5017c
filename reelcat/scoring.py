"""Zero-shot tag scores from stored image embeddings: no video is decoded here.

Each tag is scored on its own. `cosine` is the raw similarity to the tag's prompt
ensemble (open_clip templates over the tag's phrasings). `score` is a calibrated
probability: a softmax at the model's logit scale between the tag and its own negatives
plus the vocabulary's background prompts, so a frame can be "beach" and "crowd" at once
and a tag nothing resembles stays low. `rank` orders the tags of one frame by cosine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from reelcat.store import FRAME_TAGS
from reelcat.vocabulary import Vocabulary


@dataclass
class TextBank:
    """Text embeddings for one (model, vocabulary): computed once, reused for every frame."""

    tags: list[str]
    positives: np.ndarray  # (n_tags, dim)
    negatives: list[np.ndarray]  # per tag (k_i, dim): own negatives + background
    logit_scale: float

    def to_npz(self, path) -> None:
        counts = np.array([len(n) for n in self.negatives])
        np.savez(path, tags=np.array(self.tags), positives=self.positives,
                 negatives=np.concatenate(self.negatives).astype(np.float32),
                 negative_counts=counts, logit_scale=self.logit_scale)

    @classmethod
    def from_npz(cls, path) -> TextBank:
        z = np.load(path)
        splits = np.cumsum(z["negative_counts"])[:-1]
        return cls([str(t) for t in z["tags"]], z["positives"],
                   list(np.split(z["negatives"], splits)), float(z["logit_scale"]))


def build_text_bank(model, vocab: Vocabulary) -> TextBank:
    positives = model.embed_prompt_sets([t.prompts for t in vocab.tags])
    background = model.embed_prompt_sets([(b,) for b in vocab.background])
    negatives = []
    for tag in vocab.tags:
        own = model.embed_prompt_sets([(n,) for n in tag.negatives]) if tag.negatives else None
        negatives.append(background if own is None else np.concatenate([own, background]))
    return TextBank([t.name for t in vocab.tags], positives, negatives, model.logit_scale)


def score_embeddings(emb: np.ndarray, bank: TextBank) -> tuple[np.ndarray, np.ndarray]:
    """(n_frames, dim) unit vectors -> cosine and calibrated score, each (n_frames, n_tags)."""
    cosine = emb @ bank.positives.T
    score = np.empty_like(cosine)
    for j, neg in enumerate(bank.negatives):
        logits = bank.logit_scale * np.concatenate(
            [cosine[:, j : j + 1], emb @ neg.T], axis=1)
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        score[:, j] = e[:, 0] / e.sum(axis=1)
    return cosine.astype(np.float32), score.astype(np.float32)


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
