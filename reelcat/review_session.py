"""A reviewer's session over the catalogued archive: questions, answers, undo, progress.

Shared by the terminal review (`reelcat review`), the review web page (`reelcat serve`)
and the quality benchmark's simulated reviewer, so all three ask and record the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow.parquet as pq

from reelcat.archive_scores import load_archive_scores
from reelcat.config import Config, model_id
from reelcat.groups import load_named_groups
from reelcat.questions import Question, question_queue, tag_precision
from reelcat.store import export_thumbnails, frames_dir, video_file_names
from reelcat.summaries import Threshold, default_thresholds
from reelcat.summary_files import learned_thresholds
from reelcat.tagging import scored_vocabulary_id
from reelcat.verdicts import Verdict, VerdictError, append, effective, log
from reelcat.vocabulary import load_vocabulary


@dataclass
class Asked:
    question: Question
    file_name: str
    thumbnail: str | None  # relative to the output folder


def _nearest(times: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Index of the stored frame nearest each wanted time (times ascending)."""
    right = np.clip(np.searchsorted(times, wanted), 1, max(1, len(times) - 1))
    left = right - 1
    pick_right = np.abs(times[np.minimum(right, len(times) - 1)] - wanted) < np.abs(
        times[left] - wanted)
    return np.where(pick_right, np.minimum(right, len(times) - 1), left)


class ReviewSession:
    def __init__(self, cfg: Config, reviewer: str = "anonymous"):
        self.cfg = cfg
        self.out = cfg.output_dir
        self.reviewer = reviewer
        self.vocab = load_vocabulary(cfg.vocabulary)
        self.model_id = model_id(cfg.model)
        self.vocabulary_id = scored_vocabulary_id(cfg, self.vocab)
        self.frames_folder = frames_dir(self.out, self.model_id, cfg.sampling.id)
        self.reload()

    def reload(self) -> None:
        """Re-read scores and thresholds (after a re-score)."""
        self.videos, by_tag = load_archive_scores(self.cfg, self.vocab, apply_verdicts=False)
        self.thresholds: dict[str, Threshold] = default_thresholds(
            by_tag, self.vocab, learned_thresholds(self.out))
        self.names = video_file_names(self.out)
        self._emb_cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.group_tags = self._add_named_groups()

    def _add_named_groups(self) -> list[str]:
        """Named groups are tags too: their score is a frame's similarity to the group's
        prototype, so their uncertain frames become questions like any tag's."""
        groups = load_named_groups(self.out)
        for tag, g in groups.items():
            self.thresholds[tag] = Threshold(tag, g["accept"], g["review"], "named group")
            for v in self.videos:
                self._embeddings(v.video_id)
                times, emb = self._emb_cache.get(v.video_id, (np.empty(0), None))
                if len(times) and len(v.times):
                    v.scores[tag] = emb[_nearest(times, v.times)] @ g["centroid"]
        return sorted(groups)

    def _embeddings(self, video_id: str) -> None:
        if video_id not in self._emb_cache:
            path = self.frames_folder / f"{video_id}.parquet"
            if not path.exists():
                return
            table = pq.read_table(path, columns=["t", "embedding"]).to_pydict()
            self._emb_cache[video_id] = (np.asarray(table["t"]),
                                         np.asarray(table["embedding"], dtype=np.float32))

    def embedding_of(self, video_id: str, t: float) -> np.ndarray | None:
        self._embeddings(video_id)
        if video_id not in self._emb_cache:
            return None
        times, emb = self._emb_cache[video_id]
        if not len(times):
            return None
        return emb[int(_nearest(times, np.array([t]))[0])]

    def answered(self) -> set[tuple[str, float, str]]:
        """Frames with an answer in force (an undone answer asks the question again)."""
        return {(v["video_id"], round(v["start"], 3), v["tag"]) for v in effective(self.out)
                if v["scope"] == "frame"}

    def questions(self, n: int = 20, tags: list[str] | None = None, seed: int = 0) -> list[Asked]:
        queue = question_queue(self.videos, self.thresholds, self.embedding_of, n=n,
                               seed=seed, tags=tags, answered=self.answered())
        wanted: dict[str, list[float]] = {}
        for q in queue:
            wanted.setdefault(q.video_id, []).append(q.t)
        thumbs = export_thumbnails(self.out, self.frames_folder, wanted)
        return [Asked(q, self.names.get(q.video_id, q.video_id),
                      thumbs.get((q.video_id, q.t))) for q in queue]

    def validate(self, video_id: str, tag: str) -> None:
        if video_id not in self.names:
            raise VerdictError(f"unknown video {video_id!r}")
        if tag not in self.vocab.names and tag not in self.group_tags:
            raise VerdictError(f"unknown tag {tag!r}")

    def answer(self, video_id: str, t: float, tag: str, verdict: str, *,
               scope: str = "frame", end: float | None = None, source: str = "question"
               ) -> str:
        """Record one answer; returns its verdict id (for undo)."""
        self.validate(video_id, tag)
        (vid,) = append(self.out, [Verdict(
            scope=scope, video_id=video_id, start=float(t), end=float(t if end is None else end),
            tag=tag, verdict=verdict, reviewer=self.reviewer, model_id=self.model_id,
            vocabulary_id=self.vocabulary_id, source=source)])
        return vid

    def undo(self, verdict_id: str) -> str:
        rows = [v for v in log(self.out) if v["verdict_id"] == verdict_id]
        if not rows:
            raise VerdictError(f"no verdict {verdict_id!r} to undo")
        r = rows[0]
        (vid,) = append(self.out, [Verdict(
            scope=r["scope"], video_id=r["video_id"], start=r["start"], end=r["end"],
            tag=r["tag"], verdict="undo", reviewer=self.reviewer, model_id=self.model_id,
            vocabulary_id=self.vocabulary_id, undoes=verdict_id, source=r["source"])])
        return vid

    def progress(self) -> dict:
        """Answers in force (undone ones do not count), and per-tag precision estimates."""
        rows = effective(self.out)
        return {"answered": len(rows), "per_tag": tag_precision(rows)}

