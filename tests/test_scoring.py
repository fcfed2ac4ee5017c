"""Calibrated scores: the vectorised implementation equals the definition, tag by tag."""

from __future__ import annotations

import numpy as np

from reelcat.tagging.scoring import TextBank, score_embeddings


def unit(x):
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def reference(emb, bank, rivals=2):
    """Softmax of the tag against its own negatives, background and its strongest rivals."""
    out = np.zeros((len(emb), len(bank.tags)), np.float64)
    for i, e in enumerate(emb):
        cos = bank.positives @ e
        for j in range(len(bank.tags)):
            others = np.sort(np.delete(cos, j))[-rivals:]
            negs = bank.negatives[bank.membership[:, j]] @ e
            logits = bank.logit_scale * np.concatenate([[cos[j]], negs, others])
            p = np.exp(logits - logits.max())
            out[i, j] = p[0] / p.sum()
    return out


def test_vectorised_scores_equal_the_definition():
    rng = np.random.default_rng(0)
    bank = TextBank(
        [f"t{i}" for i in range(9)],
        unit(rng.normal(size=(9, 16))),
        unit(rng.normal(size=(5, 16))),
        rng.random((5, 9)) < 0.5,
        14.0,
    )
    emb = unit(rng.normal(size=(60, 16)))
    cosine, score = score_embeddings(emb, bank)
    np.testing.assert_allclose(cosine, emb @ bank.positives.T, atol=1e-6)
    np.testing.assert_allclose(score, reference(emb, bank), atol=1e-5)


def test_a_probe_moves_only_its_tag():
    rng = np.random.default_rng(1)
    bank = TextBank(
        [f"t{i}" for i in range(6)],
        unit(rng.normal(size=(6, 16))),
        unit(rng.normal(size=(3, 16))),
        np.ones((3, 6), bool),
        14.0,
    )
    emb = unit(rng.normal(size=(40, 16)))
    cos_before, before = score_embeddings(emb, bank)
    probe = (0.3 * rng.normal(size=16)).astype(np.float32)
    cos_after, after = score_embeddings(emb, bank.with_probe(2, probe))
    np.testing.assert_allclose(np.delete(after, 2, 1), np.delete(before, 2, 1), atol=1e-6)
    np.testing.assert_allclose(cos_after, cos_before, atol=1e-6)  # cosine stays the text one
    up = emb @ probe > 0
    assert (after[up, 2] > before[up, 2]).all() and (after[~up, 2] < before[~up, 2]).all()


def test_a_strong_probe_leaves_no_score_undefined():
    """At a real CLIP's logit scale (100), a probe that lifts its tag a whole cosine unit
    above every other logit used to underflow the other tags' denominators to 0/0."""
    rng = np.random.default_rng(2)
    bank = TextBank(
        [f"t{i}" for i in range(6)],
        unit(rng.normal(size=(6, 16))),
        unit(rng.normal(size=(3, 16))),
        np.ones((3, 6), bool),
        100.0,
    )
    d = unit(rng.normal(size=16))
    emb = unit(d + 0.1 * rng.normal(size=(40, 16)))
    _, before = score_embeddings(emb, bank)
    _, after = score_embeddings(emb, bank.with_probe(2, (1.5 * d).astype(np.float32)))
    assert not np.isnan(after).any()
    np.testing.assert_allclose(after[:, 2], 1.0, atol=1e-6)  # lifted far above everything
    np.testing.assert_allclose(np.delete(after, 2, 1), np.delete(before, 2, 1), atol=1e-6)
