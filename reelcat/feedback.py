"""Learning from people's verdicts, on stored embeddings only: no video is decoded.

For each tag with answers, the tag itself moves toward what people said: its score is
shifted by how much more a frame resembles the frames answered "yes" than those answered
"no" (a prototype probe on stored image embeddings that starts from the text score),
so look-alikes of a rejected frame score low. Then the tag's accept threshold is
re-fitted to the answers (best F1 over them). Tags nobody answered about are left
exactly as they were. The result is an "adaptation" file; tag scores computed with it carry the
vocabulary id plus the adaptation's id, so every score row says what produced it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from reelcat.scoring import TextBank, score_embeddings
from reelcat.store import THRESHOLDS, write_rows
from reelcat.verdicts import effective

ADAPTATION = "adaptation.npz"
MIN_ANSWERS_FOR_THRESHOLD = 4


def feedback_dir(out: Path) -> Path:
    return Path(out) / "feedback"


@dataclass
class Examples:
    yes: list[np.ndarray]
    no: list[np.ndarray]


def labelled_examples(out: Path, frames_folder: Path) -> dict[str, Examples]:
    """Embeddings of the frames each effective yes/no verdict covers, per tag."""
    verdicts = [v for v in effective(out) if v["verdict"] in ("yes", "no")]
    by_video: dict[str, list[dict]] = {}
    for v in verdicts:
        by_video.setdefault(v["video_id"], []).append(v)
    examples: dict[str, Examples] = {}
    for vid, vs in by_video.items():
        path = Path(frames_folder) / f"{vid}.parquet"
        if not path.exists():
            continue
        table = pq.read_table(path, columns=["t", "embedding"]).to_pydict()
        times = np.asarray(table["t"])
        emb = np.asarray(table["embedding"], dtype=np.float32)
        if not len(times):
            continue
        for v in vs:
            if v["scope"] == "video":
                idx = np.arange(len(times))
            elif v["scope"] == "segment":
                idx = np.flatnonzero((times >= v["start"] - 1e-6) & (times <= v["end"] + 1e-6))
            else:
                idx = [int(np.argmin(np.abs(times - v["start"])))]
            ex = examples.setdefault(v["tag"], Examples([], []))
            (ex.yes if v["verdict"] == "yes" else ex.no).extend(emb[i] for i in idx)
    return examples


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-8)


PROBE_WEIGHT = 0.5  # at many answers; grows as n / (n + PROBE_HALF)
PROBE_HALF = 4.0


def adapt_bank(bank: TextBank, examples: dict[str, Examples]) -> TextBank:
    """A copy of the bank in which each answered tag also leans on its example frames:
    closer to what people said "yes" to, further from what they said "no" to. When only
    one side was answered, the other side is the mean of the frames asked about, so the
    shift measures "more like the yes frames than like the questions in general"."""
    adapted = bank
    for j, tag in enumerate(bank.tags):
        ex = examples.get(tag)
        if ex is None or not (ex.yes or ex.no):
            continue
        everything = _unit(np.mean(ex.yes + ex.no, axis=0))
        yes = _unit(np.mean(ex.yes, axis=0)) if ex.yes else everything
        no = _unit(np.mean(ex.no, axis=0)) if ex.no else everything
        n = len(ex.yes) + len(ex.no)
        adapted = adapted.with_probe(j, yes, no, PROBE_WEIGHT * n / (n + PROBE_HALF))
    return adapted


def fit_threshold(yes_scores: np.ndarray, no_scores: np.ndarray, default: float) -> float:
    """The accept level with the best F1 over the answers (ties: the middle of the gap)."""
    if len(yes_scores) + len(no_scores) < MIN_ANSWERS_FOR_THRESHOLD or not len(yes_scores):
        return default
    candidates = np.unique(np.concatenate([yes_scores, no_scores]))
    best, best_f1 = default, -1.0
    for c in candidates:
        tp = float((yes_scores >= c).sum())
        fp = float((no_scores >= c).sum())
        fn = float((yes_scores < c).sum())
        f1 = 2 * tp / max(2 * tp + fp + fn, 1e-9)
        if f1 > best_f1 + 1e-9:
            below = no_scores[no_scores < c]
            best = float((c + below.max()) / 2) if len(below) else float(c)
            best_f1 = f1
    return float(np.clip(best, 0.05, 0.95))


@dataclass
class Adaptation:
    id: str
    bank: TextBank
    thresholds: dict[str, tuple[float, float]]  # tag -> (accept, review)
    answers: dict[str, int]


def learn(out: Path, frames_folder: Path, bank: TextBank,
          default_accept: dict[str, float]) -> Adaptation | None:
    """Adapt tags and thresholds from the verdict log; write them beside it."""
    examples = labelled_examples(out, frames_folder)
    folder = feedback_dir(out)
    if not examples:
        (folder / ADAPTATION).unlink(missing_ok=True)
        (folder / "thresholds.parquet").unlink(missing_ok=True)
        return None
    adapted = adapt_bank(bank, examples)
    thresholds: dict[str, tuple[float, float]] = {}
    answers: dict[str, int] = {}
    for tag, ex in examples.items():
        if tag not in adapted.tags:
            continue
        answers[tag] = len(ex.yes) + len(ex.no)
        j = adapted.tags.index(tag)
        yes_s, no_s = (_scores_of(adapted, j, e) for e in (ex.yes, ex.no))
        accept = fit_threshold(yes_s, no_s, default_accept.get(tag, 0.5))
        thresholds[tag] = (accept, accept * 0.6)
    digest = hashlib.sha256(json.dumps(
        {t: [round(float(x), 6) for x in adapted.yes_protos[adapted.tags.index(t)][:8]]
         for t in sorted(answers)} | {"thresholds": thresholds}, sort_keys=True).encode()
    ).hexdigest()[:8]
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "adaptation.tmp.npz"
    adapted.to_npz(tmp)
    tmp.replace(folder / ADAPTATION)
    write_rows([{"tag": t, "accept": a, "review": r, "source": "verdicts"}
                for t, (a, r) in thresholds.items()], folder / "thresholds.parquet", THRESHOLDS)
    (folder / "adaptation_id").write_text(f"fb-{digest}")
    return Adaptation(f"fb-{digest}", adapted, thresholds, answers)


def _scores_of(bank: TextBank, j: int, embeddings: list[np.ndarray]) -> np.ndarray:
    """Tag j's calibrated scores of some frames, with its rivals as in the archive."""
    if not embeddings:
        return np.zeros(0, np.float32)
    return score_embeddings(np.asarray(embeddings, np.float32), bank)[1][:, j]


def adaptation_id(out: Path) -> str | None:
    path = feedback_dir(out) / "adaptation_id"
    if path.exists() and (feedback_dir(out) / ADAPTATION).exists():
        return path.read_text().strip()
    return None


def load_adapted_bank(out: Path) -> TextBank | None:
    path = feedback_dir(out) / ADAPTATION
    return TextBank.from_npz(path) if path.exists() else None
