"""Read the archive's frame scores back from the store, one array per video.

Summaries, moderation and feedback all start here: the manifest's good videos, their
sampled frames (time, brightness, contrast) and calibrated tag scores for the configured
model, sampling and current vocabulary, read a frames batch and a few videos at a time
(`video_chunks`: memory does not grow with the archive). People's answers override the
model through the one rule in the `frame_verdicts` view, the same one the catalogue's
`labels_final` uses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from reelcat.config import Config, model_id
from reelcat.storage.layout import Layout
from reelcat.storage.views import open_store
from reelcat.summaries.timeline import blank_frames
from reelcat.tagging.vocabulary import Vocabulary, load_vocabulary


@dataclass
class VideoFrames:
    video_id: str
    duration: float
    times: np.ndarray
    blank: np.ndarray
    scores: dict[str, np.ndarray]  # tag -> calibrated score per frame


RESULTS_VERSION = "1"  # bump when a per-video rule (segments, moderation) changes
CHUNK_FRAMES = 8192  # frames (times every tag) held in memory at once


def results_key(cfg: Config, vocab: Vocabulary) -> str:
    """What per-video results depend on: the current scores (model, sampling and
    vocabulary), the thresholds in force (whose file also records the answers they
    were fitted with, reelcat.feedback.step), the sampling interval and the rules'
    version. Any change computes every video again; none, only new batches. The answers
    people give between two runs count from the run that learns from them (the sensor
    starts one), so every step of a run works under the same key."""
    layout = Layout(cfg.output_dir)
    thresholds = layout.thresholds.read_bytes() if layout.thresholds.exists() else b""
    parts = [
        RESULTS_VERSION,
        model_id(cfg.model),
        cfg.sampling.id,
        vocab.id,
        repr(cfg.sampling.interval_seconds),
        hashlib.sha256(thresholds).hexdigest(),
    ]
    return "r-" + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def open_archive(
    cfg: Config, vocab: Vocabulary | None = None, *, results: bool = False
) -> duckdb.DuckDBPyConnection:
    """The store's views for the configured model, sampling and current tag scores (and,
    with `results`, the macros of the current per-video results)."""
    vocab = vocab or load_vocabulary(cfg.vocabulary)
    return open_store(
        Layout(cfg.output_dir),
        model_id=model_id(cfg.model),
        sampling_id=cfg.sampling.id,
        vocabulary_id=vocab.id,
        results_key=results_key(cfg, vocab) if results else "none",
    )


def load_answers(con: duckdb.DuckDBPyConnection) -> None:
    """The yes/no answers in force per stored frame (the `frame_verdicts` rule), as the
    temporary table `answers` that `video_chunks` reads (computed once per step)."""
    ((live,),) = con.execute("SELECT count(*) FROM verdicts_effective").fetchall()
    query = (
        "SELECT video_id, t, tag, verdict FROM frame_verdicts WHERE verdict IN ('yes', 'no')"
        if live
        else "SELECT NULL::VARCHAR AS video_id, NULL::DOUBLE AS t, "
        "NULL::VARCHAR AS tag, NULL::VARCHAR AS verdict WHERE false"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE answers AS {query}")


def video_chunks(
    con: duckdb.DuckDBPyConnection,
    frames_file: Path,
    tags_file: Path,
    *,
    apply_verdicts: bool = True,
    max_frames: int | None = None,
) -> Iterator[list[VideoFrames]]:
    """The catalogued videos of one frames batch, a few at a time (at most `max_frames`
    frames, unless one video alone has more), with their scores; people's answers
    applied from the `answers` table (see `load_answers`)."""
    videos = con.execute(
        "SELECT f.video_id, count(*) AS n, any_value(m.duration) AS duration "
        "FROM read_parquet($frames) AS f JOIN manifest AS m USING (video_id) "
        "WHERE m.catalogued AND f.video_id NOT IN (SELECT video_id FROM frame_errors) "
        "GROUP BY f.video_id ORDER BY f.video_id",
        {"frames": str(frames_file)},
    ).fetchall()
    max_frames = max_frames or CHUNK_FRAMES
    chunk: list[tuple[str, int, float]] = []
    for row in videos + [None]:
        if row is not None and (not chunk or sum(n for _, n, _ in chunk) + row[1] <= max_frames):
            chunk.append(row)
            continue
        if chunk:
            yield _read_chunk(con, frames_file, tags_file, chunk, apply_verdicts)
        chunk = [row] if row is not None else []


def _read_chunk(
    con, frames_file: Path, tags_file: Path, chunk: list, apply_verdicts: bool
) -> list[VideoFrames]:
    """DuckDB groups the rows into one time-ordered list per video (frames) and per video
    and tag (scores), so Python sees a few arrays per video, never an object per row."""
    ids = [vid for vid, _, _ in chunk]
    params = {"ids": ids}
    frames = con.sql(
        "SELECT video_id, list(t ORDER BY t) AS t, list(brightness ORDER BY t) AS brightness, "
        "list(contrast ORDER BY t) AS contrast FROM read_parquet($f) "
        "WHERE list_contains($ids, video_id) GROUP BY video_id",
        params={**params, "f": str(frames_file)},
    ).to_arrow_table()
    tags = con.sql(
        "SELECT video_id, tag, list(score ORDER BY t) AS score FROM read_parquet($g) "
        "WHERE list_contains($ids, video_id) GROUP BY video_id, tag ORDER BY video_id, tag",
        params={**params, "g": str(tags_file)},
    ).to_arrow_table()
    videos = video_frames_from_lists({vid: d for vid, _, d in chunk}, frames, tags)
    if apply_verdicts:
        override_with_verdicts(
            videos,
            con.execute(
                "SELECT video_id, t, tag, verdict FROM answers WHERE list_contains($ids, video_id)",
                params,
            ).fetchall(),
        )
    return videos


def load_archive_scores(
    cfg: Config, vocab: Vocabulary | None = None, *, apply_verdicts: bool = True
) -> list[VideoFrames]:
    """Every catalogued video's frames and scores at once (the review session, the quality
    benchmark; the pipeline's steps stream `video_chunks` instead)."""
    vocab = vocab or load_vocabulary(cfg.vocabulary)
    layout = Layout(cfg.output_dir)
    mid = model_id(cfg.model)
    tags_dir = layout.tags_dir(mid, vocab.id)
    con = open_archive(cfg, vocab)
    try:
        if apply_verdicts:
            load_answers(con)
        return [
            v
            for f in Layout.batch_files(layout.frames_dir(mid, cfg.sampling.id))
            if (tags_dir / f.name).exists()
            for chunk in video_chunks(con, f, tags_dir / f.name, apply_verdicts=apply_verdicts)
            for v in chunk
        ]
    finally:
        con.close()


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


def video_frames_from_lists(
    videos: dict[str, float], frames: pa.Table, tags: pa.Table
) -> list[VideoFrames]:
    """Per-video arrays from grouped lists: `frames` has one row per video (lists `t`,
    `brightness`, `contrast` in time order), `tags` one row per video and tag (list
    `score` in time order), `tags` ordered by video. A video's scores reshape to
    (tags, frames) when every tag has a score for each of its frames; otherwise it has
    no scores."""
    f_ids = frames.column("video_id").to_pylist()
    t, f_len = _flat(frames, "t", np.float64)
    brightness, _ = _flat(frames, "brightness", np.float32)
    contrast, _ = _flat(frames, "contrast", np.float32)
    f_start = np.concatenate([[0], np.cumsum(f_len)])
    g_ids = tags.column("video_id").to_numpy(zero_copy_only=False)
    g_tags = tags.column("tag").to_numpy(zero_copy_only=False)
    flat, g_len = _flat(tags, "score", np.float32)
    g_start = np.concatenate([[0], np.cumsum(g_len)])
    g_bounds = _bounds(g_ids)
    by_id = {vid: i for i, vid in enumerate(f_ids)}
    out = []
    for vid, duration in videos.items():
        i = by_id.get(vid)
        a, b = (int(f_start[i]), int(f_start[i + 1])) if i is not None else (0, 0)
        times = t[a:b]
        n = b - a
        blank = blank_frames(brightness[a:b], contrast[a:b]) if n else np.zeros(0, bool)
        scores: dict[str, np.ndarray] = {}
        c, d = g_bounds.get(vid, (0, 0))
        if n and d > c and (g_len[c:d] == n).all():
            block = flat[g_start[c] : g_start[d]].reshape(d - c, n)
            scores = {str(name): block[j] for j, name in enumerate(g_tags[c:d])}
        out.append(VideoFrames(vid, float(duration or 0.0), times, blank, scores))
    return out


def _flat(table: pa.Table, name: str, dtype) -> tuple[np.ndarray, np.ndarray]:
    """A list column's values, end to end (a writable copy: answers override scores), and
    each row's list length."""
    lists = table.column(name).combine_chunks()
    values = np.array(lists.flatten().to_numpy(zero_copy_only=False), dtype=dtype)
    return values, pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)


def _bounds(sorted_ids: np.ndarray) -> dict[str, tuple[int, int]]:
    if len(sorted_ids) == 0:
        return {}
    change = np.flatnonzero(sorted_ids[1:] != sorted_ids[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(sorted_ids)]])
    return {sorted_ids[a]: (int(a), int(b)) for a, b in zip(starts, ends, strict=True)}
