"""Score stored frame embeddings against the vocabulary: writes per-video tag files.

Text embeddings are computed once per (model, vocabulary) and cached; a video whose tag
file exists for this (model, vocabulary) is not scored again. A new vocabulary, or tags
adapted to people's answers, re-score stored embeddings: no video is decoded. Only the
current scores are kept: once every video has them, the same vocabulary's earlier
adaptations are deleted.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field

import pyarrow.parquet as pq

from reelcat.config import Config, model_id
from reelcat.feedback.adaptation import adaptation_id, load_adapted_bank
from reelcat.storage.layout import Layout, safe_name
from reelcat.storage.parquet import write_table
from reelcat.storage.schemas import FRAME_TAGS
from reelcat.tagging.scoring import TextBank, build_text_bank, tag_rows
from reelcat.tagging.vocabulary import Vocabulary, load_vocabulary


@dataclass
class TagReport:
    scored: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rows: int = 0
    removed: list[str] = field(default_factory=list)  # replaced score folders


def text_bank(cfg: Config, vocab: Vocabulary) -> TextBank:
    path = Layout(cfg.output_dir).text_bank(model_id(cfg.model), vocab.id)
    if path.exists():
        return TextBank.from_npz(path)
    from reelcat.tagging.model import load_model  # torch and open_clip, only to build a bank

    bank = build_text_bank(load_model(cfg.model.model_dump_json()), vocab)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    bank.to_npz(tmp)
    tmp.replace(path)
    return bank


def scoring_vocabulary_id(cfg: Config, vocab: Vocabulary) -> str:
    """The vocabulary id on score rows: plus the feedback adaptation's id when one applies."""
    adapted = adaptation_id(Layout(cfg.output_dir))
    return f"{vocab.id}+{adapted}" if adapted else vocab.id


def scored_vocabulary_id(cfg: Config, vocab: Vocabulary) -> str:
    """The vocabulary id whose scores readers should use: the adapted one once its scores
    exist (learning ran but re-scoring has not yet: the previous scores still stand)."""
    wanted = scoring_vocabulary_id(cfg, vocab)
    layout = Layout(cfg.output_dir)
    if wanted != vocab.id and not Layout.per_video_files(
        layout.tags_dir(model_id(cfg.model), wanted)
    ):
        return vocab.id
    return wanted


def scoring_bank(cfg: Config, vocab: Vocabulary) -> TextBank:
    """The vocabulary's text bank, adapted by people's verdicts when they gave some."""
    adapted = load_adapted_bank(Layout(cfg.output_dir))
    if adapted is not None and adapted.tags == vocab.names:
        return adapted
    return text_bank(cfg, vocab)


def tag_frames(cfg: Config, video_ids: list[str] | None = None) -> TagReport:
    vocab = load_vocabulary(cfg.vocabulary)
    layout = Layout(cfg.output_dir)
    mid = model_id(cfg.model)
    vid_key = scoring_vocabulary_id(cfg, vocab)
    dst = layout.tags_dir(mid, vid_key)
    report = TagReport()
    files = Layout.per_video_files(layout.frames_dir(mid, cfg.sampling.id))
    if video_ids is not None:
        wanted = set(video_ids)
        files = [f for f in files if f.stem in wanted]
    bank = None
    for f in files:
        out = Layout.per_video(dst, f.stem)
        if out.exists() and out.stat().st_mtime >= f.stat().st_mtime:
            report.skipped.append(f.stem)
            continue
        bank = bank or scoring_bank(cfg, vocab)
        frames = pq.read_table(f, columns=["video_id", "t", "frame", "embedding"])
        table = tag_rows(frames, bank, mid, vid_key)
        write_table(table, out, FRAME_TAGS)
        report.scored.append(f.stem)
        report.rows += table.num_rows
    if video_ids is None:
        report.removed = remove_replaced_scores(layout, mid, vocab.id, vid_key)
    return report


def remove_replaced_scores(layout: Layout, mid: str, vocabulary_id: str, current: str) -> list[str]:
    """Delete this vocabulary's other score folders (the plain one or older adaptations):
    the current folder is complete, so nothing reads them again."""
    current_dir = layout.tags_dir(mid, current)
    removed = []
    for folder in sorted(layout.tags_root(mid).glob(f"{safe_name(vocabulary_id)}*")):
        name = folder.name
        same_vocabulary = name == safe_name(vocabulary_id) or name.startswith(
            safe_name(vocabulary_id + "+")
        )
        if folder.is_dir() and same_vocabulary and folder != current_dir:
            shutil.rmtree(folder)
            removed.append(name)
    return removed
