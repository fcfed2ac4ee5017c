"""Frame search: the approximate-nearest-neighbour index over the stored embeddings."""

import dagster as dg

from assets.ingest import video_frames
from assets.resources import ReelcatSettings
from reelcat.search.step import index_frames


@dg.asset(group_name="ingest", deps=[video_frames], kinds={"usearch"})
def frame_index(context: dg.AssetExecutionContext, settings: ReelcatSettings):
    """An HNSW index (usearch) over every stored frame embedding, extended with each new
    frames batch; `reelcat search` asks it for candidates and re-ranks them exactly."""
    added, frames = index_frames(settings.load())
    return dg.MaterializeResult(metadata={"batches_added": added, "frames_indexed": frames})
