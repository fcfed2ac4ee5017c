"""Run the feedback loop's learning step for the configured archive (used by the asset)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np

from reelcat.config import Config, model_id
from reelcat.feedback import learn
from reelcat.scoring import score_embeddings
from reelcat.store import frames_dir
from reelcat.tagging import text_bank
from reelcat.verdicts import effective
from reelcat.vocabulary import load_vocabulary


@dataclass
class Change:
    tag: str
    answers: int
    accept_before: float
    accept_after: float
    frames_before: int
    frames_after: int

    def __str__(self) -> str:
        return (f"'{self.tag}' threshold {self.accept_before:.2f} → {self.accept_after:.2f} "
                f"after {self.answers} answers; {abs(self.frames_after - self.frames_before)} "
                f"frames changed ({self.frames_before} → {self.frames_after} accepted)")


def current_thresholds(cfg: Config) -> dict[str, float]:
    path = cfg.output_dir / "summaries" / "thresholds.parquet"
    if not path.exists():
        return {}
    return dict(duckdb.execute("SELECT tag, accept FROM read_parquet(?) WHERE source != "
                               "'verdicts'", [str(path)]).fetchall())


def learn_from_verdicts(cfg: Config) -> list[Change]:
    """Adapt tags and thresholds to the verdict log; report what changed per tag."""
    vocab = load_vocabulary(cfg.vocabulary)
    folder = frames_dir(cfg.output_dir, model_id(cfg.model), cfg.sampling.id)
    if not effective(cfg.output_dir):
        learn(cfg.output_dir, folder, text_bank(cfg, vocab), {})
        return []
    base = text_bank(cfg, vocab)
    defaults = current_thresholds(cfg)
    adaptation = learn(cfg.output_dir, folder, base, defaults)
    if adaptation is None:
        return []
    files = sorted(folder.glob("*.parquet"))
    emb = duckdb.sql("SELECT embedding FROM read_parquet($1)", params=[[str(f) for f in files]]
                     ).fetchnumpy()["embedding"] if files else []
    emb = np.asarray(list(emb), dtype=np.float32) if len(emb) else np.zeros((0, 1), np.float32)
    changes = []
    for tag, (accept, _review) in adaptation.thresholds.items():
        j = vocab.names.index(tag)
        before = defaults.get(tag, 0.5)
        n_before = n_after = 0
        if len(emb):
            s0 = score_embeddings(emb, base)[1][:, j]
            s1 = score_embeddings(emb, adaptation.bank)[1][:, j]
            n_before, n_after = int((s0 >= before).sum()), int((s1 >= accept).sum())
        changes.append(Change(tag, adaptation.answers[tag], before, accept, n_before, n_after))
    return changes
