"""Read the archive's frame scores back from the Parquet store, one array per video.

Summaries, moderation and feedback all start here: the manifest's good videos, their
sampled frames (time, brightness, contrast) and calibrated tag scores for the configured
model, sampling and vocabulary. DuckDB (in memory) reads the files.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np

from reelcat.config import Config, model_id
from reelcat.store import frames_dir, tags_dir
from reelcat.summaries import VideoFrames, video_frames_from_rows
from reelcat.tagging import scored_vocabulary_id
from reelcat.verdicts import effective
from reelcat.vocabulary import Vocabulary, load_vocabulary


def _glob(folder: Path) -> str | None:
    return str(folder / "*.parquet") if any(folder.glob("*.parquet")) else None


def load_archive_scores(cfg: Config, vocab: Vocabulary | None = None, *,
                        apply_verdicts: bool = True
                        ) -> tuple[list[VideoFrames], dict[str, np.ndarray]]:
    """Per-video frames and scores, plus every tag's scores over the archive.

    With `apply_verdicts` (the default) people's answers override the model's scores."""
    vocab = vocab or load_vocabulary(cfg.vocabulary)
    mid = model_id(cfg.model)
    con = duckdb.connect()
    manifest = cfg.output_dir / "manifest.parquet"
    errors = cfg.output_dir / "frame_errors.parquet"
    videos: dict[str, float] = {}
    if manifest.exists():
        failed = set()
        if errors.exists():
            failed = {r[0] for r in con.execute(
                "SELECT video_id FROM read_parquet(?)", [str(errors)]).fetchall()}
        for vid, duration in con.execute(
                "SELECT video_id, any_value(duration) FROM read_parquet(?) "
                "WHERE status = 'ok' GROUP BY video_id ORDER BY video_id",
                [str(manifest)]).fetchall():
            if vid not in failed:
                videos[vid] = duration
    frames_glob = _glob(frames_dir(cfg.output_dir, mid, cfg.sampling.id))
    tags_glob = _glob(tags_dir(cfg.output_dir, mid, scored_vocabulary_id(cfg, vocab)))
    empty_f = {"video_id": [], "t": [], "brightness": [], "contrast": []}
    empty_t = {"video_id": [], "t": [], "tag": [], "score": []}
    frames = con.sql(
        "SELECT video_id, t, brightness, contrast FROM read_parquet($1)", params=[frames_glob]
    ).to_arrow_table().to_pydict() if frames_glob else empty_f
    tags = con.sql(
        "SELECT video_id, t, tag, score FROM read_parquet($1)", params=[tags_glob]
    ).to_arrow_table().to_pydict() if tags_glob else empty_t
    keep = set(videos)
    by_tag: dict[str, np.ndarray] = {}
    if tags["tag"]:
        tag_col = np.asarray(tags["tag"], dtype=object)
        score_col = np.asarray(tags["score"], dtype=np.float32)
        in_archive = np.isin(np.asarray(tags["video_id"], dtype=object), list(keep))
        for name in vocab.names:
            by_tag[name] = score_col[(tag_col == name) & in_archive]
    per_video = video_frames_from_rows(videos, frames, tags)
    if apply_verdicts:
        override_with_verdicts(per_video, effective(cfg.output_dir))
    return per_video, by_tag


def override_with_verdicts(videos: list[VideoFrames], verdicts: list[dict]) -> int:
    """People's answers override the model: 'no' scores 0 on the items it covers, 'yes'
    scores 1; 'unsure' leaves the model's score. Returns how many scores changed."""
    by_id = {v.video_id: v for v in videos}
    changed = 0
    for verdict in verdicts:
        v = by_id.get(verdict["video_id"])
        if v is None or verdict["verdict"] not in ("yes", "no") or not len(v.times):
            continue
        scores = v.scores.get(verdict["tag"])
        if scores is None:
            continue
        if verdict["scope"] == "video":
            idx = np.arange(len(v.times))
        elif verdict["scope"] == "segment":
            idx = np.flatnonzero((v.times >= verdict["start"] - 1e-6)
                                 & (v.times <= verdict["end"] + 1e-6))
        else:
            idx = np.array([int(np.argmin(np.abs(v.times - verdict["start"])))])
        value = 1.0 if verdict["verdict"] == "yes" else 0.0
        changed += int((scores[idx] != value).sum())
        scores[idx] = value
    return changed
