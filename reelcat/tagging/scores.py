"""Read the archive's frame scores back from the store, one array per video.

Summaries, moderation and feedback all start here: the manifest's good videos, their
sampled frames (time, brightness, contrast) and calibrated tag scores for the configured
model, sampling and current vocabulary, read through the store's DuckDB views
(reelcat.storage.views). People's answers override the model through the one rule in
the `frame_verdicts` view, the same one the catalogue's `labels_final` uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np

from reelcat.config import Config, model_id
from reelcat.storage.layout import Layout
from reelcat.storage.views import open_store
from reelcat.summaries.timeline import blank_frames
from reelcat.tagging.step import scored_vocabulary_id
from reelcat.tagging.vocabulary import Vocabulary, load_vocabulary


@dataclass
class VideoFrames:
    video_id: str
    duration: float
    times: np.ndarray
    blank: np.ndarray
    scores: dict[str, np.ndarray]  # tag -> calibrated score per frame


def open_archive(cfg: Config, vocab: Vocabulary | None = None) -> duckdb.DuckDBPyConnection:
    """The store's views for the configured model, sampling and current tag scores."""
    vocab = vocab or load_vocabulary(cfg.vocabulary)
    return open_store(
        Layout(cfg.output_dir),
        model_id=model_id(cfg.model),
        sampling_id=cfg.sampling.id,
        vocabulary_id=scored_vocabulary_id(cfg, vocab),
    )


def load_archive_scores(
    cfg: Config, vocab: Vocabulary | None = None, *, apply_verdicts: bool = True
) -> list[VideoFrames]:
    """Per-video frames and scores of the archive's catalogued videos.

    With `apply_verdicts` (the default) people's answers override the model's scores:
    'yes' scores 1 and 'no' 0 on the frames the `frame_verdicts` rule gives them."""
    vocab = vocab or load_vocabulary(cfg.vocabulary)
    con = open_archive(cfg, vocab)
    try:
        videos = dict(
            con.execute(
                "SELECT video_id, any_value(duration) FROM manifest WHERE status = 'ok' "
                "AND video_id NOT IN (SELECT video_id FROM frame_errors) "
                "GROUP BY video_id ORDER BY video_id"
            ).fetchall()
        )
        frames = (
            con.sql("SELECT video_id, t, brightness, contrast FROM frames")
            .to_arrow_table()
            .to_pydict()
        )
        tags = (
            con.sql("SELECT video_id, t, tag, score FROM frame_tags").to_arrow_table().to_pydict()
        )
        per_video = video_frames_from_rows(videos, frames, tags)
        if apply_verdicts:
            answers = con.execute(
                "SELECT video_id, t, tag, verdict FROM frame_verdicts "
                "WHERE verdict IN ('yes', 'no')"
            ).fetchall()
            override_with_verdicts(per_video, answers)
    finally:
        con.close()
    return per_video


def override_with_verdicts(
    videos: list[VideoFrames], answers: list[tuple[str, float, str, str]]
) -> int:
    """Set each answered (video, stored frame time, tag) to 1 ('yes') or 0 ('no').
    Returns how many scores changed."""
    by_id = {v.video_id: v for v in videos}
    changed = 0
    for video_id, t, tag, verdict in answers:
        v = by_id.get(video_id)
        scores = v.scores.get(tag) if v is not None else None
        if scores is None:
            continue
        i = np.flatnonzero(v.times == t)
        value = 1.0 if verdict == "yes" else 0.0
        changed += int((scores[i] != value).sum())
        scores[i] = value
    return changed


def video_frames_from_rows(videos: dict[str, float], frames: dict, tags: dict) -> list[VideoFrames]:
    """Assemble per-video arrays from columnar dicts (as DuckDB/arrow return them).

    Every frame has one row per tag, so after sorting, each video's tag rows reshape to
    (tags, frames) without a Python loop over rows.
    """
    fv = np.asarray(frames["video_id"], dtype=object)
    ft = np.asarray(frames["t"], dtype=np.float64)
    order = np.lexsort((ft, fv))
    fv, ft = fv[order], ft[order]
    fb = np.asarray(frames["brightness"], dtype=np.float32)[order]
    fc = np.asarray(frames["contrast"], dtype=np.float32)[order]
    tv = np.asarray(tags["video_id"], dtype=object)
    tt = np.asarray(tags["t"], dtype=np.float64)
    tg = np.asarray(tags["tag"], dtype=object)
    ts = np.asarray(tags["score"], dtype=np.float32)
    torder = np.lexsort((tt, tg, tv))
    tv, tt, tg, ts = tv[torder], tt[torder], tg[torder], ts[torder]
    f_bounds = _bounds(fv)
    t_bounds = _bounds(tv)
    out = []
    for vid, duration in videos.items():
        a, b = f_bounds.get(vid, (0, 0))
        times = ft[a:b]
        blank = blank_frames(fb[a:b], fc[a:b]) if b > a else np.zeros(0, bool)
        scores: dict[str, np.ndarray] = {}
        c, d = t_bounds.get(vid, (0, 0))
        n = len(times)
        if n and d > c and (d - c) % n == 0:
            names = tg[c:d:n]
            block = ts[c:d].reshape(-1, n)
            scores = {str(name): block[i] for i, name in enumerate(names)}
        out.append(VideoFrames(vid, float(duration or 0.0), times, blank, scores))
    return out


def _bounds(sorted_ids: np.ndarray) -> dict[str, tuple[int, int]]:
    if len(sorted_ids) == 0:
        return {}
    change = np.flatnonzero(sorted_ids[1:] != sorted_ids[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(sorted_ids)]])
    return {sorted_ids[a]: (int(a), int(b)) for a, b in zip(starts, ends, strict=True)}
