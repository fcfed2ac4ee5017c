"""Score stored frame embeddings against a vocabulary: writes per-video tag files.

Text embeddings are computed once per (model, vocabulary) and cached; a video whose tag
file exists for this (model, vocabulary) is not scored again. A new vocabulary re-scores
stored embeddings; no video is decoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow.parquet as pq

from reelcat.config import Config, model_id
from reelcat.feedback import adaptation_id, load_adapted_bank
from reelcat.scoring import TextBank, build_text_bank, tag_rows
from reelcat.store import FRAME_TAGS, frames_dir, safe_name, tags_dir, write_table
from reelcat.vocabulary import Vocabulary, load_vocabulary


@dataclass
class TagReport:
    scored: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rows: int = 0


def text_bank(cfg: Config, vocab: Vocabulary) -> TextBank:
    mid = model_id(cfg.model)
    path = cfg.output_dir / "text" / f"{safe_name(mid)}__{safe_name(vocab.id)}.bank.npz"
    if path.exists():
        return TextBank.from_npz(path)
    from reelcat.model import load_model  # torch and open_clip, only when a bank is built

    bank = build_text_bank(load_model(cfg.model.model_dump_json()), vocab)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    bank.to_npz(tmp)
    tmp.replace(path)
    return bank


def scoring_vocabulary_id(cfg: Config, vocab: Vocabulary) -> str:
    """The vocabulary id on score rows: plus the feedback adaptation's id when one applies."""
    adapted = adaptation_id(cfg.output_dir)
    return f"{vocab.id}+{adapted}" if adapted else vocab.id


def scored_vocabulary_id(cfg: Config, vocab: Vocabulary) -> str:
    """The vocabulary id whose scores readers should use: the adapted one once its scores
    exist (learning ran but re-scoring has not yet: the previous scores still stand)."""
    wanted = scoring_vocabulary_id(cfg, vocab)
    if wanted != vocab.id and not any(
            tags_dir(cfg.output_dir, model_id(cfg.model), wanted).glob("*.parquet")):
        return vocab.id
    return wanted


def scoring_bank(cfg: Config, vocab: Vocabulary) -> TextBank:
    """The vocabulary's text bank, adapted by people's verdicts when they gave some."""
    adapted = load_adapted_bank(cfg.output_dir)
    if adapted is not None and adapted.tags == vocab.names:
        return adapted
    return text_bank(cfg, vocab)


def tag_frames(cfg: Config, video_ids: list[str] | None = None) -> TagReport:
    vocab = load_vocabulary(cfg.vocabulary)
    mid = model_id(cfg.model)
    vid_key = scoring_vocabulary_id(cfg, vocab)
    src = frames_dir(cfg.output_dir, mid, cfg.sampling.id)
    dst = tags_dir(cfg.output_dir, mid, vid_key)
    report = TagReport()
    files = sorted(src.glob("*.parquet"))
    if video_ids is not None:
        wanted = set(video_ids)
        files = [f for f in files if f.stem in wanted]
    bank = None
    for f in files:
        out = dst / f.name
        if out.exists() and out.stat().st_mtime >= f.stat().st_mtime:
            report.skipped.append(f.stem)
            continue
        bank = bank or scoring_bank(cfg, vocab)
        frames = pq.read_table(f, columns=["video_id", "t", "frame", "embedding"])
        table = tag_rows(frames, bank, mid, vid_key)
        write_table(table, out, FRAME_TAGS)
        report.scored.append(f.stem)
        report.rows += table.num_rows
    return report

