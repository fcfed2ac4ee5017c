"""A reviewer's session over the catalogued archive: questions, answers, undo, progress.

Shared by the terminal review (`reelcat review`) and the review web page (`reelcat
serve`), so both ask and record the same way. (The quality benchmark's simulated
reviewer answers from ground truth and calls the same question queue and learning rule,
reelcat.feedback.questions and reelcat.feedback.learning.adapt.)
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np

from reelcat.config import Config, model_id
from reelcat.feedback.groups import load_named_groups
from reelcat.feedback.questions import Question, question_queue, tag_precision
from reelcat.feedback.verdicts import Verdict, VerdictError, append, effective, log
from reelcat.storage.layout import Layout
from reelcat.storage.thumbnails import export_thumbnails
from reelcat.storage.views import embeddings, video_file_names
from reelcat.tagging.scores import load_archive_scores, open_archive
from reelcat.tagging.step import scored_vocabulary_id
from reelcat.tagging.thresholds import Threshold, load_thresholds
from reelcat.tagging.vocabulary import load_vocabulary


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
        times[left] - wanted
    )
    return np.where(pick_right, np.minimum(right, len(times) - 1), left)


class ReviewSession:
    def __init__(self, cfg: Config, reviewer: str = "anonymous"):
        self.cfg = cfg
        self.layout = Layout(cfg.output_dir)
        self.reviewer = reviewer
        self.vocab = load_vocabulary(cfg.vocabulary)
        self.model_id = model_id(cfg.model)
        self.reload()

    def store(self) -> duckdb.DuckDBPyConnection:
        """A fresh read-only view of the store (cheap; one per call, so threads never
        share one)."""
        return open_archive(self.cfg, self.vocab)

    def reload(self) -> None:
        """Re-read scores and thresholds (after a re-score)."""
        self.vocabulary_id = scored_vocabulary_id(self.cfg, self.vocab)
        self.videos = load_archive_scores(self.cfg, self.vocab, apply_verdicts=False)
        self.thresholds: dict[str, Threshold] = load_thresholds(self.layout, self.vocab)
        con = self.store()
        try:
            self.names = video_file_names(con)
            groups = load_named_groups(con)
        finally:
            con.close()
        self._emb_cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.group_tags = self._add_named_groups(groups)

    def _add_named_groups(self, groups: dict[str, dict]) -> list[str]:
        """Named groups are tags too: their score is a frame's similarity to the group's
        prototype, so their uncertain frames become questions like any tag's."""
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
            con = self.store()
            try:
                table = con.sql(
                    "SELECT t, embedding FROM frames WHERE video_id = $v ORDER BY t",
                    params={"v": video_id},
                ).to_arrow_table()
            finally:
                con.close()
            if not table.num_rows:
                return
            self._emb_cache[video_id] = (
                table.column("t").to_numpy(),
                embeddings(table.column("embedding")),
            )

    def embedding_of(self, video_id: str, t: float) -> np.ndarray | None:
        self._embeddings(video_id)
        if video_id not in self._emb_cache:
            return None
        times, emb = self._emb_cache[video_id]
        if not len(times):
            return None
        return emb[int(_nearest(times, np.array([t]))[0])]

    def answered(self) -> set[tuple[str, float, str]]:
        """(video, stored frame time, tag) with an answer in force, whatever its scope
        (the `frame_verdicts` rule); an undone answer asks the question again."""
        con = self.store()
        try:
            return {
                (v, round(t, 3), tag)
                for v, t, tag in con.execute(
                    "SELECT video_id, t, tag FROM frame_verdicts"
                ).fetchall()
            }
        finally:
            con.close()

    def questions(self, n: int = 20, tags: list[str] | None = None, seed: int = 0) -> list[Asked]:
        queue = question_queue(
            self.videos,
            self.thresholds,
            self.embedding_of,
            n=n,
            seed=seed,
            tags=tags,
            answered=self.answered(),
        )
        wanted: dict[str, list[float]] = {}
        for q in queue:
            wanted.setdefault(q.video_id, []).append(q.t)
        thumbs = self.thumbnails(wanted)
        return [
            Asked(q, self.names.get(q.video_id, q.video_id), thumbs.get((q.video_id, q.t)))
            for q in queue
        ]

    def thumbnails(self, wanted: dict[str, list[float]]) -> dict[tuple[str, float], str]:
        """Thumbnails of the stored frames nearest the wanted times (see export_thumbnails)."""
        con = self.store()
        try:
            return export_thumbnails(con, self.layout, wanted)
        finally:
            con.close()

    def validate(self, video_id: str, tag: str) -> None:
        if video_id not in self.names:
            raise VerdictError(f"unknown video {video_id!r}")
        if tag not in self.vocab.names and tag not in self.group_tags:
            raise VerdictError(f"unknown tag {tag!r}")

    def answer(
        self,
        video_id: str,
        t: float,
        tag: str,
        verdict: str,
        *,
        scope: str = "frame",
        end: float | None = None,
        source: str = "question",
    ) -> str:
        """Record one answer; returns its verdict id (for undo)."""
        self.validate(video_id, tag)
        (vid,) = append(
            self.layout,
            [
                Verdict(
                    scope=scope,
                    video_id=video_id,
                    start=float(t),
                    end=float(t if end is None else end),
                    tag=tag,
                    verdict=verdict,
                    reviewer=self.reviewer,
                    model_id=self.model_id,
                    vocabulary_id=self.vocabulary_id,
                    source=source,
                )
            ],
        )
        return vid

    def log(self) -> list[dict]:
        con = self.store()
        try:
            return log(con)
        finally:
            con.close()

    def undo(self, verdict_id: str) -> str:
        rows = [v for v in self.log() if v["verdict_id"] == verdict_id]
        if not rows:
            raise VerdictError(f"no verdict {verdict_id!r} to undo")
        r = rows[0]
        (vid,) = append(
            self.layout,
            [
                Verdict(
                    scope=r["scope"],
                    video_id=r["video_id"],
                    start=r["start"],
                    end=r["end"],
                    tag=r["tag"],
                    verdict="undo",
                    reviewer=self.reviewer,
                    model_id=self.model_id,
                    vocabulary_id=self.vocabulary_id,
                    undoes=verdict_id,
                    source=r["source"],
                )
            ],
        )
        return vid

    def progress(self) -> dict:
        """Answers in force (undone ones do not count), and per-tag precision estimates."""
        con = self.store()
        try:
            rows = effective(con)
        finally:
            con.close()
        return {"answered": len(rows), "per_tag": tag_precision(rows)}
