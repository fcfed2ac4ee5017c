"""Score stored frame embeddings against the vocabulary: writes per-video tag files.

Text embeddings are kept per (model, vocabulary) in the output folder, made from the
machine's per-text cache; a video whose tag file exists for this (model, vocabulary) is
not scored again. A new vocabulary re-scores stored embeddings: no video is decoded.
People's answers never change scores (they move thresholds and cover their own shots:
reelcat.feedback).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq

from reelcat.config import Config, model_id
from reelcat.storage.layout import Layout, safe_name
from reelcat.storage.parquet import BatchWriter, temp_file
from reelcat.storage.schemas import FRAME_TAGS
from reelcat.tagging.scoring import TextBank, bank_texts, build_text_bank, tag_rows
from reelcat.tagging.text_cache import text_embeddings
from reelcat.tagging.vocabulary import Vocabulary, load_vocabulary


@dataclass
class TagReport:
    scored: list[str] = field(default_factory=list)  # frames batch files scored now
    skipped: list[str] = field(default_factory=list)  # their scores were current
    rows: int = 0
    removed: list[str] = field(default_factory=list)  # replaced score folders


def text_bank(cfg: Config, vocab: Vocabulary) -> TextBank:
    """The vocabulary's text embeddings for the configured model: the output folder's copy
    (what its tags were scored with), else made from the machine's text cache, which
    embeds only the texts it has not seen (reelcat.tagging.text_cache)."""
    path = Layout(cfg.output_dir).text_bank(model_id(cfg.model), vocab.id)
    if path.exists():
        return TextBank.from_npz(path)
    bank = build_text_bank(vocab, *text_embeddings(cfg.model, bank_texts(vocab)))
    tmp = temp_file(path.parent, f".{path.name}.", ".tmp.npz")
    bank.to_npz(tmp)
    tmp.replace(path)
    return bank


FRAMES_PER_SCORING_BATCH = 4096  # frames scored at once: memory stays bounded


def tag_frames(cfg: Config) -> TagReport:
    """Score every frames batch file that has no current tags file of the same name."""
    vocab = load_vocabulary(cfg.vocabulary)
    layout = Layout(cfg.output_dir)
    mid = model_id(cfg.model)
    vid_key = vocab.id
    dst = layout.tags_dir(mid, vid_key)
    report = TagReport()
    frames_files = Layout.batch_files(layout.frames_dir(mid, cfg.sampling.id))
    bank = None
    for f in frames_files:
        out = dst / f.name
        if out.exists() and out.stat().st_mtime >= f.stat().st_mtime:
            report.skipped.append(f.name)
            continue
        bank = bank or text_bank(cfg, vocab)
        writer = BatchWriter(dst, FRAME_TAGS, row_group=1 << 18, name=f.name)
        try:
            for batch in pq.ParquetFile(f).iter_batches(
                batch_size=FRAMES_PER_SCORING_BATCH, columns=["video_id", "t", "frame", "embedding"]
            ):
                table = tag_rows(pa.Table.from_batches([batch]), bank, mid, vid_key)
                writer.write(table)
                report.rows += table.num_rows
        except BaseException:
            writer.abort()
            raise
        writer.close()
        report.scored.append(f.name)
    wanted = {f.name for f in frames_files}
    for stale in Layout.batch_files(dst):  # its frames batch was compacted away
        if stale.name not in wanted:
            stale.unlink()
    report.removed = remove_replaced_scores(layout, mid, vocab.id, vid_key)
    return report


def remove_replaced_scores(layout: Layout, mid: str, vocabulary_id: str, current: str) -> list[str]:
    """Delete this vocabulary's other score folders (adapted scores an older reelcat
    wrote, `<vocabulary>+fb-…`): the current folder is complete, nothing reads them."""
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
