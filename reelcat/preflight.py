"""Before a run decodes anything: is the configuration usable? One clear reason if not.

Checked in the driver, in seconds, by `reelcat run` before it starts the Dagster run and
by the first asset of every run (a run from the UI or the schedule too): the vocabulary
loads, the model and its weights load and embed the vocabulary's prompts (the text bank,
which the run needs anyway; prompts this machine has embedded with the same checkpoint
bytes come from its cache, reelcat.tagging.text_cache, and the model is then not
loaded), and the output folder is a folder this process can write with at least
`min_free_mb` free. The archive roots are checked by the manifest step itself
(reelcat.ingest.step: a root that held videos and is now gone must keep them, not fail a
check).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from reelcat.config import Config, ConfigError


def check_before_run(cfg: Config) -> None:
    """Raise ConfigError with one line saying what is wrong; return when all is usable."""
    check_output_folder(cfg.output_dir, cfg.min_free_mb)
    from reelcat.tagging.step import text_bank
    from reelcat.tagging.vocabulary import VocabularyError, load_vocabulary

    try:
        vocab = load_vocabulary(cfg.vocabulary)
    except VocabularyError as exc:
        raise ConfigError(f"vocabulary: {exc}") from None
    try:
        text_bank(cfg, vocab)
    except (RuntimeError, OSError, ValueError) as exc:  # open_clip: unknown name, bad file
        from reelcat.tagging.model import ModelLoadError  # (open_clip: imported only now)

        if isinstance(exc, ModelLoadError):
            raise ConfigError(f"model {cfg.model.name}: {exc}") from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"model {cfg.model.name} ({cfg.model.pretrained}): {first}") from None


def check_output_folder(out: Path, min_free_mb: float) -> None:
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output folder {out} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".reelcat-write-check.", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(f"output folder {out} cannot be written: {exc.strerror}") from None
    free_mb = shutil.disk_usage(out).free / 2**20
    if free_mb < min_free_mb:
        raise ConfigError(
            f"output folder {out} has {free_mb:.0f} MB free; a run needs at least "
            f"{min_free_mb:.0f} MB (min_free_mb)"
        )
