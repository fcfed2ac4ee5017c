"""Run the feedback loop's learning step for the configured archive (the `tag_adaptations`
and `tag_thresholds` assets call it).

Reads the stored embeddings and the answers in force (the `frame_verdicts` rule) and
writes the thresholds table (every tag's baseline from the model's own scores, and the
accept level the answers moved: reelcat.feedback.learning), the taught concepts, and
per tag what the answers changed and why.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow.parquet as pq

from reelcat.config import Config, model_id
from reelcat.feedback.groups import load_named_groups
from reelcat.feedback.learning import (
    Adaptation,
    Examples,
    TagDecision,
    adapt,
    not_enough,
    teach_concept,
)
from reelcat.storage.layout import GENESIS, Layout
from reelcat.storage.parquet import write_rows
from reelcat.storage.schemas import CONCEPTS, LEARNING_CHANGES, THRESHOLDS
from reelcat.storage.views import embeddings, open_store
from reelcat.tagging.scoring import score_embeddings
from reelcat.tagging.step import text_bank
from reelcat.tagging.thresholds import baseline_thresholds, threshold_rows
from reelcat.tagging.vocabulary import Vocabulary, load_vocabulary

ARCHIVE_SAMPLE = 50_000  # frames the baselines and thresholds are fitted over, at most
REFIT_GROWTH = 1.5  # the archive's frames growing (or shrinking) by this factor refits
FIT_KEY = "reelcat.fit"  # the thresholds file's metadata: what they were fitted from


@dataclass
class LearningReport:
    changes: list[dict]  # LEARNING_CHANGES rows: what the answers changed per tag
    thresholds: list[dict]  # the thresholds table in force
    concepts: list[dict]  # CONCEPTS rows: taught concepts as they stand
    refitted: bool = True  # False: nothing it depends on changed, the last fit stands


def archive_sample(
    con: duckdb.DuckDBPyConnection, n: int = ARCHIVE_SAMPLE
) -> tuple[np.ndarray, np.ndarray]:
    """Stored embeddings of about n of the archive's frames, and their video ids: all of
    them in an archive that small, else a fixed pseudo-random share (by a hash of video
    and time, so the sample does not change between runs). Streamed in batches into one
    array, in no particular order (every use is per frame, or a count), so that memory
    holds the sample once."""
    ((total,),) = con.execute("SELECT count(*) FROM frames").fetchall()
    params = {"step": max(1, -(-total // n))}
    sampled = "FROM frames WHERE hash(video_id, t) % $step = 0"
    ((rows,),) = con.execute(f"SELECT count(*) {sampled}", params).fetchall()
    videos = np.empty(rows, dtype=object)
    emb, at = np.zeros((0, 1), np.float32), 0
    reader = con.sql(f"SELECT video_id, embedding {sampled}", params=params).to_arrow_reader(8192)
    for batch in reader:
        if not batch.num_rows:
            continue
        part = embeddings(batch.column("embedding"))
        if not at:
            emb = np.empty((rows, part.shape[1]), np.float32)
        emb[at : at + len(part)] = part
        videos[at : at + len(part)] = batch.column("video_id").to_numpy(zero_copy_only=False)
        at += len(part)
    return emb[:at], videos[:at]


# One example per answer in force: a frame answer's own frame (its anchor, not its whole
# shot), a video answer's frame the model scored highest for the tag. A temporary table
# first (one row per answer), so that the join with the frames' embeddings is built on it.
ANSWERED_SQL = """
CREATE OR REPLACE TEMP TABLE answered AS
SELECT verdict_id, tag, verdict, video_id, t FROM frame_verdicts
WHERE anchor AND verdict IN ('yes', 'no')
UNION ALL
SELECT v.verdict_id, v.tag, v.verdict, v.video_id, v.t
FROM frame_verdicts AS v JOIN frame_tags AS g USING (video_id, t, tag)
WHERE v.scope = 'video' AND v.verdict IN ('yes', 'no')
QUALIFY row_number() OVER (PARTITION BY v.verdict_id ORDER BY g.score DESC, v.t) = 1
"""
EXAMPLES_SQL = """
SELECT a.verdict_id, a.tag, a.verdict, a.video_id, f.embedding
FROM answered AS a JOIN frames AS f USING (video_id, t)
ORDER BY a.tag, a.video_id, a.t
"""


def labelled_examples(con: duckdb.DuckDBPyConnection) -> dict[str, Examples]:
    """The answers in force per tag, one example each (ANSWERED_SQL)."""
    ((live,),) = con.execute("SELECT count(*) FROM verdicts_effective").fetchall()
    if not live:
        return {}
    con.execute(ANSWERED_SQL)
    table = con.sql(EXAMPLES_SQL).to_arrow_table()
    emb = embeddings(table.column("embedding"))
    tags = np.asarray(table.column("tag").to_pylist(), dtype=object)
    said_yes = np.asarray(table.column("verdict").to_pylist(), dtype=object) == "yes"
    videos = np.asarray(table.column("video_id").to_pylist(), dtype=object)
    ids = table.column("verdict_id").to_pylist()
    examples = {}
    for tag in sorted(set(tags)):
        rows = np.flatnonzero(tags == tag)
        examples[tag] = Examples(emb[rows], said_yes[rows], videos[rows], [ids[i] for i in rows])
    return examples


def fit_inputs(cfg: Config, vocab: Vocabulary, layout: Layout) -> dict:
    """What the thresholds and the adaptation are fitted from, besides the archive's size:
    the vocabulary, the model and sampling, and the answers and named groups (the logs'
    file names: they are append-only, so a new answer, undo or name is a new name)."""
    names = [
        p.name
        for folder in (layout.verdicts_dir, layout.named_groups_dir)
        if folder.is_dir()
        for p in sorted(folder.glob("*.parquet"))
        if p.name != GENESIS
    ]
    return {
        "vocabulary_id": vocab.id,
        "model_id": model_id(cfg.model),
        "sampling_id": cfg.sampling.id,
        "answers": hashlib.sha256("\n".join(names).encode()).hexdigest()[:16],
    }


def stored_frames(folder) -> int:
    """Frames in the store (from the batch files' metadata: no scan)."""
    return sum(pq.ParquetFile(f).metadata.num_rows for f in Layout.batch_files(folder))


def last_fit(layout: Layout) -> dict | None:
    """The inputs and archive size the thresholds in force were fitted with."""
    if not layout.thresholds.exists():
        return None
    meta = pq.read_schema(layout.thresholds).metadata or {}
    raw = meta.get(FIT_KEY.encode())
    return json.loads(raw) if raw else None


def learn_from_verdicts(cfg: Config) -> LearningReport:
    """Move thresholds and teach concepts from the answers in force; record per tag what
    changed (feedback/changes.parquet) and the taught concepts (feedback/concepts.parquet).

    Archive-wide, so fitted again only when its inputs change (`fit_inputs`) or the
    archive grew or shrank by REFIT_GROWTH since: an ordinary night with new videos keeps
    the thresholds, and so every earlier video's results."""
    vocab = load_vocabulary(cfg.vocabulary)
    layout = Layout(cfg.output_dir)
    mid = model_id(cfg.model)
    inputs = fit_inputs(cfg, vocab, layout)
    frames = stored_frames(layout.frames_dir(mid, cfg.sampling.id))
    fitted = last_fit(layout)
    for path, schema in ((layout.learning_changes, LEARNING_CHANGES), (layout.concepts, CONCEPTS)):
        if not path.exists():  # (a store from before these files): views bind to them
            write_rows([], path, schema)
    if (
        fitted is not None
        and fitted["inputs"] == inputs
        and fitted["frames"] / REFIT_GROWTH <= frames <= fitted["frames"] * REFIT_GROWTH
    ):
        return LearningReport(
            _rows(layout.learning_changes),
            pq.read_table(layout.thresholds).to_pylist(),
            _rows(layout.concepts),
            refitted=False,
        )
    fit = {FIT_KEY: json.dumps({"inputs": inputs, "frames": frames})}
    con = open_store(layout, model_id=mid, sampling_id=cfg.sampling.id, vocabulary_id=vocab.id)
    try:
        sample, sample_videos = archive_sample(con)
        examples = labelled_examples(con)
        groups = load_named_groups(con)
    finally:
        con.close()
    answered = {t: ex for t, ex in examples.items() if t in vocab.names}
    # Text embeddings only for what is scored: answered tags, and the archive percentiles
    # of tags whose accept level the vocabulary does not set.
    percentiles = len(sample) > 0 and any(t.accept is None for t in vocab.tags)
    bank = text_bank(cfg, vocab) if answered or percentiles else None
    scores = (
        score_embeddings(sample, bank)[1]
        if bank is not None and len(sample)
        else np.zeros((0, len(vocab.tags)))
    )
    baseline = baseline_thresholds({tag: scores[:, j] for j, tag in enumerate(vocab.names)}, vocab)
    baseline_accept = {tag: b.accept for tag, b in baseline.items()}
    learned = adapt(bank, answered, baseline_accept, sample) if answered else Adaptation({}, {}, {})
    rows = threshold_rows(baseline, learned.accept, learned.answers)
    write_rows(rows, layout.thresholds, THRESHOLDS, fit)
    changes = [
        _change(d, examples[tag], scores[:, vocab.names.index(tag)], sample_videos)
        for tag, d in learned.decisions.items()
    ]
    concepts = []
    for tag, g in groups.items():
        ex = examples.get(tag) or Examples.of([], [], [], [])
        taught = teach_concept(g["centroid"], g["accept"], g["review"], ex)
        concepts.append(
            {
                "tag": tag,
                "prototype": taught.prototype.tolist(),
                "accept": taught.accept,
                "review": taught.review,
                "answers": len(ex),
            }
        )
        if len(ex):
            sims = sample @ g["centroid"] if len(sample) else np.zeros(0)
            after = sample @ taught.prototype if len(sample) else np.zeros(0)
            decision = TagDecision(
                tag,
                len(ex),
                len(set(ex.videos)),
                g["accept"],
                taught.accept,
                not_enough(ex) or "a taught concept: its prototype follows the answers",
            )
            changes.append(_change(decision, ex, sims, sample_videos, after))
    write_rows(changes, layout.learning_changes, LEARNING_CHANGES)
    write_rows(concepts, layout.concepts, CONCEPTS)
    return LearningReport(changes, rows, concepts)


def _change(
    d: TagDecision,
    ex: Examples,
    before: np.ndarray,
    videos: np.ndarray,
    after: np.ndarray | None = None,
) -> dict:
    """One LEARNING_CHANGES row: which sampled frames' labels the decision flipped."""
    after = before if after is None else after
    flipped = (before >= d.accept_before) != (after >= d.accept_after)
    return {
        "tag": d.tag,
        "answers": d.answers,
        "videos_answered": d.videos,
        "accept_before": d.accept_before,
        "accept_after": d.accept_after,
        "frames_changed": int(flipped.sum()),
        "videos_changed": len(set(videos[flipped])),
        "sampled_frames": len(before),
        "decision": d.reason,
        "verdict_ids": list(ex.verdict_ids),
    }


def _rows(path) -> list[dict]:
    return pq.read_table(path).to_pylist() if path.exists() else []
