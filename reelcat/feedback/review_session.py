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
from reelcat.feedback.question_media import MediaError, archive_file, frame
from reelcat.feedback.questions import Question, question_queue, tag_precision
from reelcat.feedback.verdicts import Verdict, VerdictError, append, effective, log, take_back
from reelcat.storage.layout import Layout
from reelcat.storage.thumbnails import export_thumbnails
from reelcat.storage.views import embeddings, video_file_names
from reelcat.tagging.scores import load_archive_scores, open_archive
from reelcat.tagging.thresholds import Threshold, load_thresholds
from reelcat.tagging.vocabulary import load_vocabulary

SCORE_MOVED = 0.1  # a skipped or "not sure" question is asked again past this change

# What people said about each (video, stored frame, tag), oldest first: the answer in
# force there (the `frame_verdicts` rule) with the score it was given at, and every skip
# no undo names, on the stored frame nearest its time.
ASKED_BEFORE = """
WITH said AS (
    SELECT fv.video_id, fv.t, fv.tag, fv.verdict, v.score, v.start, fv.answered_at
    FROM frame_verdicts AS fv JOIN verdicts AS v ON v.verdict_id = fv.verdict_id
),
skips AS (
    SELECT s.video_id, f.t, s.tag, s.verdict, s.score, s.start, s.answered_at
    FROM verdicts AS s JOIN frames AS f ON f.video_id = s.video_id
    WHERE s.verdict = 'skip' AND s.scope = 'frame'
      AND s.verdict_id NOT IN (SELECT undoes FROM verdicts WHERE undoes IS NOT NULL)
    QUALIFY row_number() OVER (PARTITION BY s.verdict_id ORDER BY abs(f.t - s.start), f.t) = 1
)
SELECT * FROM (SELECT * FROM said UNION ALL SELECT * FROM skips) ORDER BY answered_at
"""


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
        self.vocabulary_id = self.vocab.id
        self.videos = load_archive_scores(self.cfg, self.vocab, apply_verdicts=False)
        self.by_id = {v.video_id: v for v in self.videos}
        self.thresholds: dict[str, Threshold] = load_thresholds(self.layout, self.vocab)
        con = self.store()
        try:
            self.names = video_file_names(con)
            groups = load_named_groups(con, taught=True)
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

    def score_at(self, video_id: str, t: float, tag: str) -> float | None:
        """The model's score now for `tag` on the stored frame nearest `t` (people's
        answers not applied); None when the video or tag has no scores."""
        v = self.by_id.get(video_id)
        if v is None or tag not in v.scores or not len(v.times):
            return None
        return float(v.scores[tag][int(np.argmin(np.abs(v.times - t)))])

    def answered(self) -> set[tuple[str, float, str]]:
        """(video, stored frame time, tag) of the questions not to ask now. The one rule,
        for the review page and `reelcat review` alike: a "yes" or "no" in force on the
        frame (the `frame_verdicts` rule, whatever its scope) settles it; otherwise the
        newest "not sure" in force or skip there does, until the model's score at the
        time it was given moves by more than SCORE_MOVED. An undone answer settles
        nothing: the question is asked again."""
        con = self.store()
        try:
            rows = con.execute(ASKED_BEFORE).fetchall()
        finally:
            con.close()
        sure: set[tuple[str, float, str]] = set()
        newest: dict[tuple[str, float, str], tuple[float | None, str, float]] = {}
        for video_id, t, tag, verdict, score, start, _ in rows:
            key = (video_id, round(t, 3), tag)
            if verdict in ("yes", "no"):
                sure.add(key)
            else:  # unsure or skip, oldest first: the newest stays
                newest[key] = (score, video_id, start)
        return sure | {
            key
            for key, (score, video_id, start) in newest.items()
            if not self._score_moved(score, self.score_at(video_id, start, key[2]))
        }

    @staticmethod
    def _score_moved(then: float | None, now: float | None) -> bool:
        """Whether the model's score moved by more than SCORE_MOVED (unknown: it did not)."""
        return then is not None and now is not None and abs(now - then) > SCORE_MOVED + 1e-9

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
        """Record one answer (or a skip, verdict 'skip'); returns its verdict id (for
        undo). An answer about a frame records the model's score there now."""
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
                    score=self.score_at(video_id, t, tag) if scope == "frame" else None,
                )
            ],
        )
        return vid

    def skip(self, video_id: str, t: float, tag: str, source: str = "question") -> str:
        """Leave a question for later: a 'skip' row with the model's score now (see
        `answered` for when it is asked again). Returns its verdict id."""
        return self.answer(video_id, t, tag, "skip", source=source)

    def log(self) -> list[dict]:
        con = self.store()
        try:
            return log(con)
        finally:
            con.close()

    def undo(self, *ids: str) -> list[dict]:
        """Take back answers or skips by id (or unique id prefix), all or nothing; returns
        their log rows, each with `undo_id` (reelcat.feedback.verdicts.take_back)."""
        con = self.store()
        try:
            return take_back(
                con,
                self.layout,
                list(ids),
                reviewer=self.reviewer,
                model_id=self.model_id,
                vocabulary_id=self.vocabulary_id,
            )
        finally:
            con.close()

    def picture(self, asked: Asked) -> str:
        """The question's frame as a file path: the archive's full-resolution frame (cut
        now), or the stored thumbnail when the archive file cannot give it."""
        q = asked.question
        con = self.store()
        try:
            return str(frame(self.layout, archive_file(con, q.video_id), q.video_id, q.t))
        except MediaError as exc:
            if asked.thumbnail:
                return f"{self.layout.out / asked.thumbnail}  (thumbnail: {exc})"
            return f"no picture: {exc}"
        finally:
            con.close()

    def progress(self) -> dict:
        """Answers in force (undone ones do not count), and per-tag precision estimates."""
        con = self.store()
        try:
            rows = effective(con)
        finally:
            con.close()
        return {"answered": len(rows), "per_tag": tag_precision(rows)}
