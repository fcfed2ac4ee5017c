"""Text embeddings cached on this machine, per model and exact text.

A vocabulary edit embeds only its new prompts, and another output folder, run or
process embeds none: a text the model has read once is never read again. When every
text asked for is cached the model is not loaded at all, nor torch or open_clip
imported (seconds saved, most of the cost of a text bank); missing texts are embedded
in batches of BATCH, under torch.inference_mode (ClipModel.embed_texts).

A text here is exactly what the text tower reads (a phrasing in one template), so a
cached vector is the model's unit embedding of that text and nothing else. One file per
model, <cache>/text-embeddings/<model>-<key>.npz, holds its texts, their vectors and the model's
logit scale; the key covers the model id (checkpoint digest included) and the
open_clip version (its tokenizer). The folder is the machine's reelcat cache
(reelcat.config.cache_dir), beside the encoder traces.

Adding texts takes the file's lock (flock on <file>.lock), re-reads the file, merges,
writes a temporary file and renames it over the old one: processes sharing the machine
(two runs, Ray actors) never read a partial file nor drop each other's texts.

`embedded()` counts the texts this process has put through the text tower and the
seconds the forward passes took (tests count new embeddings; benchmarks a rate).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from reelcat.config import ModelConfig, cache_dir, model_id
from reelcat.storage.layout import safe_name
from reelcat.storage.parquet import temp_file

BATCH = 256  # texts per forward pass of the text tower


@dataclass(frozen=True)
class Embedded:
    """Texts put through the text tower so far in this process, and the seconds it took."""

    texts: int = 0
    seconds: float = 0.0


_embedded = Embedded()


def embedded() -> Embedded:
    return _embedded


def store_path(mid: str) -> Path:
    """The file of model `mid`'s cached text embeddings on this machine."""
    try:
        open_clip_version = metadata.version("open_clip_torch")
    except metadata.PackageNotFoundError:
        open_clip_version = "?"
    key = json.dumps({"model": mid, "open_clip": open_clip_version}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir() / "text-embeddings" / f"{safe_name(mid)}-{digest}.npz"


@dataclass
class TextStore:
    """One model's cached texts: `vectors[row[text]]` is the unit embedding of `text`."""

    row: dict[str, int]
    vectors: np.ndarray  # (n_texts, dim) float32
    logit_scale: float | None

    @classmethod
    def read(cls, path: Path) -> TextStore:
        """The stored texts; none for a missing or unreadable file (it is written anew)."""
        try:
            with np.load(path) as z:
                texts, vectors = z["texts"].tolist(), z["vectors"]
                logit_scale = float(z["logit_scale"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            return cls({}, np.zeros((0, 0), np.float32), None)
        return cls({t: i for i, t in enumerate(texts)}, vectors, logit_scale)

    @classmethod
    def add(cls, path: Path, texts: list[str], vectors: np.ndarray, logit_scale: float) -> None:
        """Add texts and their vectors to the file, merged with what is there now, under
        the file's lock (readers need none: the file is replaced whole)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            old = cls.read(path)
            new = [i for i, t in enumerate(texts) if t not in old.row]
            if not new:  # another process added them meanwhile
                return
            all_texts = [*old.row, *(texts[i] for i in new)]
            all_vectors = np.concatenate([old.vectors, vectors[new]]) if old.row else vectors[new]
            tmp = temp_file(path.parent, f".{path.name}.", ".tmp.npz")
            try:
                np.savez(
                    tmp,
                    texts=np.array(all_texts, dtype=str),
                    vectors=all_vectors,
                    logit_scale=logit_scale,
                )
                tmp.replace(path)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise


def text_embeddings(cfg: ModelConfig, texts: Sequence[str]) -> tuple[dict[str, np.ndarray], float]:
    """Unit embeddings of `texts` (at least one) by text, and the model's logit scale: from
    the machine's cache; the model is loaded, and the missing texts embedded and cached,
    only if some are missing."""
    path = store_path(model_id(cfg))
    store = TextStore.read(path)
    found = {t: store.vectors[store.row[t]] for t in texts if t in store.row}
    missing = [t for t in dict.fromkeys(texts) if t not in found]
    if not missing:
        return found, store.logit_scale
    from reelcat.tagging.model import load_model  # torch and open_clip: only now

    model = load_model(cfg.model_dump_json())
    new = embed_in_batches(model, missing)
    try:
        TextStore.add(path, missing, new, model.logit_scale)
    except OSError:  # a cache that cannot be written only means embedding them again
        pass
    return found | dict(zip(missing, new, strict=True)), model.logit_scale


def embed_in_batches(model, texts: list[str]) -> np.ndarray:
    """Unit embeddings of `texts` by `model` (a ClipModel), BATCH texts per forward pass."""
    global _embedded
    parts = []
    for i in range(0, len(texts), BATCH):
        start = time.perf_counter()
        parts.append(model.embed_texts(texts[i : i + BATCH]))
        _embedded = Embedded(
            _embedded.texts + len(parts[-1]), _embedded.seconds + time.perf_counter() - start
        )
    return np.concatenate(parts)
