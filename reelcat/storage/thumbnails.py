"""Thumbnails people look at: the stored JPEGs of chosen frames, written out under the
output folder (found with one query over the `frames` view, written once)."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from reelcat.storage.layout import Layout
from reelcat.storage.parquet import write_bytes_atomic

# The nearest frame to each wanted time is chosen on narrow columns; only the chosen
# frames' JPEGs are read (a wanted time per frame of its video would hold them all).
NEAREST_THUMBNAILS = """
WITH nearest AS (
    SELECT w.video_id, w.want_t, f.frame
    FROM wanted_frames AS w JOIN frames AS f USING (video_id)
    QUALIFY row_number() OVER (PARTITION BY w.video_id, w.want_t
                               ORDER BY abs(f.t - w.want_t), f.t) = 1
)
SELECT n.video_id, n.want_t, n.frame, f.thumbnail
FROM nearest AS n JOIN frames AS f USING (video_id, frame)
"""


def export_thumbnails(
    con: duckdb.DuckDBPyConnection, layout: Layout, wanted: dict[str, list[float]]
) -> dict[tuple[str, float], str]:
    """Write the stored JPEG of the frame nearest each wanted (video, time).

    Returns (video_id, t) -> path relative to the output folder (links survive a move).
    """
    pairs = pa.table(
        {
            "video_id": pa.array([v for v, ts in wanted.items() for _ in ts], pa.string()),
            "want_t": pa.array([t for ts in wanted.values() for t in ts], pa.float64()),
        }
    )
    if not pairs.num_rows:
        return {}
    con.register("wanted_frames", pairs)
    try:
        rows = con.execute(NEAREST_THUMBNAILS).fetchall()
    finally:
        con.unregister("wanted_frames")
    paths: dict[tuple[str, float], str] = {}
    for video_id, t, frame, jpeg in rows:
        dest = layout.thumbnail(video_id, frame)
        if not dest.exists():
            write_bytes_atomic(dest, jpeg)
        paths[(video_id, t)] = layout.relative(dest)
    return paths
