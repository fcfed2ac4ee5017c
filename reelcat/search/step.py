"""Keep the frame search index current for the configured archive (the `frame_index`
asset calls it): new frames batches are added, nothing else is read."""

from __future__ import annotations

from reelcat.config import Config, model_id
from reelcat.search.index import extend_index
from reelcat.storage.layout import Layout


def index_frames(cfg: Config) -> tuple[int, int]:
    """(batches added, frames in the index)."""
    return extend_index(Layout(cfg.output_dir), model_id(cfg.model), cfg.sampling.id)
