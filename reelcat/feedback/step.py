"""Run the feedback loop's learning step for the configured archive (the `tag_adaptations`
and `tag_thresholds` assets call it).

Reads the stored embeddings and the answers in force (the `frame_verdicts` rule), writes
the adaptation (or removes it when no answer is left) and the thresholds table: every
tag's baseline from the model's own scores, and the accept level the answers moved.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow.parquet as pq

from reelcat.config import Config, model_id
from reelcat.feedback.adaptation import adaptation_id, remove_adaptation, save_adaptation
from reelcat.feedback.learning import Examples, adapt
from reelcat.storage.layout import GENESIS, Layout
from reelcat.storage.parquet import write_rows
from reelcat.storage.schemas import THRESHOLDS
from reelcat.storage.views import embeddings, open_store
from reelcat.tagging.scoring import score_embeddings
from reelcat.tagging.step import text_bank
from reelcat.tagging.thresholds import baseline_thresholds, threshold_rows
from reelcat.tagging.vocabulary import Vocabulary, load_vocabulary

ARCHIVE_SAMPLE = 50_000  # frames the baselines and thresholds are fitted over, at most
REFIT_GROWTH = 1.5  # the archive's frames growing (or shrinking) by this factor refits
FIT_KEY = "reelcat.fit"  # the thresholds file's metadata: what they were fitted from


@dataclass
class Change:
    tag: str
    answers: int
    accept_before: float  # the baseline: what the model's own scores give
    accept_after: float
    frames_before: int  # accepted among the sampled frames
    frames_after: int
    sampled: int

    def __str__(self) -> str:
        return (
            f"'{self.tag}' threshold {self.accept_before:.2f} → {self.accept_after:.2f} "
            f"after {self.answers} answers; {self.frames_before} → {self.frames_after} "
            f"of {self.sampled} sampled frames accepted"
        )


@dataclass
class LearningReport:
    changes: list[Change]
    thresholds: list[dict]  # the thresholds table in force
    adaptation_id: str | None
    refitted: bool = True  # False: nothing it depends on changed, the last fit stands


def archive_sample(con: duckdb.DuckDBPyConnection, n: int = ARCHIVE_SAMPLE) -> np.ndarray:
    """Stored embeddings of about n of the archive's frames: all of them in an archive
    that small, else a fixed pseudo-random share (by a hash of video and time, so the
    sample does not change between runs)."""
    ((total,),) = con.execute("SELECT count(*) FROM frames").fetchall()
    step = max(1, -(-total // n))
    table = con.sql(
        "SELECT embedding FROM frames WHERE hash(video_id, t) % $step = 0 ORDER BY video_id, t",
        params={"step": step},
    ).to_arrow_table()
    return embeddings(table.column("embedding"))


def labelled_examples(con: duckdb.DuckDBPyConnection) -> dict[str, Examples]:
    """Embeddings of the frames people said yes or no about, per tag."""
    table = con.sql(
        "SELECT v.tag, v.verdict, v.video_id, f.embedding FROM frame_verdicts AS v "
        "JOIN frames AS f USING (video_id, t) WHERE v.verdict IN ('yes', 'no') "
        "ORDER BY v.tag, v.video_id, v.t"
    ).to_arrow_table()
    emb = embeddings(table.column("embedding"))
    examples: dict[str, Examples] = {}
    for i, (tag, verdict, video) in enumerate(
        zip(
            table.column("tag").to_pylist(),
            table.column("verdict").to_pylist(),
            table.column("video_id").to_pylist(),
            strict=True,
        )
    ):
        ex = examples.setdefault(tag, Examples([], [], [], []))
        getattr(ex, verdict).append(emb[i])
        getattr(ex, f"{verdict}_videos").append(video)
    return examples


def fit_inputs(cfg: Config, vocab: Vocabulary, layout: Layout) -> dict:
    """What the thresholds and the adaptation are fitted from, besides the archive's size:
    the vocabulary, the model and sampling, and the answers (the log's file names: it is
    append-only, so a new answer or undo is a new name)."""
    names = (
        sorted(p.name for p in layout.verdicts_dir.glob("*.parquet") if p.name != GENESIS)
        if layout.verdicts_dir.is_dir()
        else []
    )
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
    """Adapt tags and thresholds to the answers in force; report what changed per tag.

    Archive-wide, so fitted again only when its inputs change (`fit_inputs`) or the
    archive grew or shrank by REFIT_GROWTH since: an ordinary night with new videos keeps
    the thresholds, and so every earlier video's results."""
    vocab = load_vocabulary(cfg.vocabulary)
    layout = Layout(cfg.output_dir)
    mid = model_id(cfg.model)
    inputs = fit_inputs(cfg, vocab, layout)
    frames = stored_frames(layout.frames_dir(mid, cfg.sampling.id))
    fitted = last_fit(layout)
    if (
        fitted is not None
        and fitted["inputs"] == inputs
        and fitted["frames"] / REFIT_GROWTH <= frames <= fitted["frames"] * REFIT_GROWTH
    ):
        rows = pq.read_table(layout.thresholds).to_pylist()
        return LearningReport([], rows, adaptation_id(layout), refitted=False)
    fit = {FIT_KEY: json.dumps({"inputs": inputs, "frames": frames})}
    base = text_bank(cfg, vocab)
    con = open_store(layout, model_id=mid, sampling_id=cfg.sampling.id, vocabulary_id=vocab.id)
    try:
        sample = archive_sample(con)
        examples = {tag: ex for tag, ex in labelled_examples(con).items() if tag in vocab.names}
    finally:
        con.close()
    base_scores = score_embeddings(sample, base)[1] if len(sample) else None
    baseline = baseline_thresholds(
        {tag: base_scores[:, j] for j, tag in enumerate(base.tags)}
        if base_scores is not None
        else {},
        vocab,
    )
    baseline_accept = {tag: b.accept for tag, b in baseline.items()}
    if not examples:
        remove_adaptation(layout)
        rows = threshold_rows(baseline, {}, {})
        write_rows(rows, layout.thresholds, THRESHOLDS, fit)
        return LearningReport([], rows, None)
    adaptation = adapt(base, examples, baseline_accept, sample)
    save_adaptation(layout, adaptation.bank, adaptation.id)
    rows = threshold_rows(baseline, adaptation.accept, adaptation.answers)
    write_rows(rows, layout.thresholds, THRESHOLDS, fit)
    after = score_embeddings(sample, adaptation.bank)[1] if len(sample) else None
    changes = []
    for tag, accept in adaptation.accept.items():
        j = vocab.names.index(tag)
        n_before = n_after = 0
        if base_scores is not None:
            n_before = int((base_scores[:, j] >= baseline_accept[tag]).sum())
            n_after = int((after[:, j] >= accept).sum())
        changes.append(
            Change(
                tag,
                adaptation.answers[tag],
                baseline_accept[tag],
                accept,
                n_before,
                n_after,
                len(sample),
            )
        )
    return LearningReport(changes, rows, adaptation.id)
