"""A video's pictures, drawn when someone asks for one: its word cloud, its top-tags chart
and its severity strip, from the catalogue's tables (nothing is drawn for every video on
every run; the review page, `reelcat about --png` and the run's Dagster metadata ask).
"""

from __future__ import annotations

import duckdb
import numpy as np

from reelcat.moderation.moderate import HEATMAP_BINS
from reelcat.pictures import bar_chart_png, severity_strip_png, word_cloud_png

KINDS = ("cloud", "tags", "severity")
TOP_TAGS_CHARTED = 8


class NoSuchPicture(LookupError):
    """An unknown picture kind, or a video the catalogue does not hold."""


def video_picture(con: duckdb.DuckDBPyConnection, video_id: str, kind: str) -> bytes:
    """PNG bytes of one picture of one video; `con` is the catalogue (video_names,
    video_tags, moderation_timeline)."""
    if kind not in KINDS:
        raise NoSuchPicture(f"no picture kind {kind!r}: one of {', '.join(KINDS)}")
    named = con.execute(
        "SELECT file_name, duration FROM video_names WHERE video_id = ?", [video_id]
    ).fetchall()
    if not named:
        raise NoSuchPicture(f"no video {video_id!r} in the catalogue")
    name, duration = named[0]
    if kind == "severity":
        row = np.full(HEATMAP_BINS, np.nan)
        for b, severity in con.execute(
            "SELECT bin, max(severity) FROM moderation_timeline WHERE video_id = ? "
            "AND severity IS NOT NULL GROUP BY bin",
            [video_id],
        ).fetchall():
            row[b] = severity
        return severity_strip_png(row, duration or 0.0, label=name or "")
    tags = con.execute(
        "SELECT tag, weight, coverage FROM video_tags WHERE video_id = ? AND weight > 0 "
        "ORDER BY rank",
        [video_id],
    ).fetchall()
    if kind == "cloud":
        return word_cloud_png({tag: weight for tag, weight, _ in tags}, seed=0)
    top = tags[:TOP_TAGS_CHARTED]
    return bar_chart_png(
        [tag for tag, _, _ in top], [cov for _, _, cov in top], title="Share of the video's time"
    )
