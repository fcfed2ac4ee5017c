"""Every read the review pages need: DuckDB queries over the pipeline's catalogue, and
the learning step's report of what it changed.

The catalogue (`Layout.catalog`, built by catalog/build.py) is opened read-only for one
request and closed after it: the pipeline replaces the file atomically when it re-runs,
so each request sees the newest one. Its views read the Parquet store by paths relative
to the output folder, which the read-only opening (reelcat.storage.readonly) resolves
against it. The verdict views (`verdicts`, `verdicts_effective`) are live: answers given
after the catalogue was built show.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import pyarrow.parquet as pq

from reelcat.storage.layout import Layout
from reelcat.storage.readonly import open_read_only
from reelcat.storage.views import dict_rows


@contextmanager
def open_catalogue(layout: Layout) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the catalogue (reelcat.storage.readonly: it cannot write,
    and reads nothing outside the output folder), closed on leaving the block."""
    con = open_read_only(layout)
    try:
        yield con
    finally:
        con.close()


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> dict | None:
    rows = dict_rows(con, sql, params)
    return rows[0] if rows else None


# --- the archive page


@dataclass(frozen=True)
class ArchiveFilters:
    """Which videos the archive page lists (its GET query): those carrying `tag`,
    decided `decision` ('review' or 'clear'), of risk `min_risk` or more, only damaged
    ones; None (False) for any."""

    tag: str | None = None
    decision: str | None = None
    min_risk: float | None = None
    damaged: bool = False

    def where(self) -> tuple[str, list]:
        """The filters as a WHERE clause over `_LISTED`'s columns, and its parameters."""
        terms, params = ["TRUE"], []
        if self.tag is not None:
            terms.append("video_id IN (SELECT video_id FROM video_tags WHERE tag = ?)")
            params.append(self.tag)
        if self.decision is not None:
            terms.append("decision = ?")
            params.append(self.decision)
        if self.min_risk is not None:
            terms.append("risk >= ?")
            params.append(self.min_risk)
        if self.damaged:
            terms.append("damage IS NOT NULL")
        return " AND ".join(terms), params


# The review queue with each video's length, its damage (decoded with errors, in words;
# None for a clean decode) and the time of its still: the peak frame of its strongest
# flagged range, else its middle.
_LISTED = """(SELECT q.*, n.duration, d.damage, coalesce(p.peak_t, n.duration / 2) AS still_t
    FROM review_queue AS q
    LEFT JOIN video_names AS n USING (video_id)
    LEFT JOIN (SELECT video_id, min(damage) AS damage FROM video_summaries
               GROUP BY video_id) AS d USING (video_id)
    LEFT JOIN (SELECT video_id, arg_max(peak_t, peak) AS peak_t FROM moderation_segments
               GROUP BY video_id) AS p USING (video_id))"""


def queue(
    con: duckdb.DuckDBPyConnection, filters: ArchiveFilters, limit: int, offset: int = 0
) -> list[dict]:
    """One page of the review queue in its stored order (to review first, then cleared),
    the videos `filters` lets through, each with its flagged time ranges, length, damage
    and `still_t`."""
    where, params = filters.where()
    return dict_rows(
        con,
        f"SELECT * FROM {_LISTED} WHERE {where} ORDER BY position LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )


def decisions(
    con: duckdb.DuckDBPyConnection, filters: ArchiveFilters = ArchiveFilters()
) -> dict[str, int]:
    """How many of the videos `filters` lets through were decided 'review', and 'clear'."""
    where, params = filters.where()
    return dict(
        con.execute(
            f"SELECT decision, count(*) FROM {_LISTED} WHERE {where} GROUP BY decision", params
        ).fetchall()
    )


def heatmap_rows(con: duckdb.DuckDBPyConnection, limit: int) -> list[dict]:
    """The first `limit` videos of the review queue (the heat map's rows, in its order):
    id, name and length."""
    return dict_rows(
        con,
        "SELECT video_id, file_name, duration FROM video_risk ORDER BY position LIMIT ?",
        [limit],
    )


def archive_tags(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The tags some video carries, by name (the archive's tag filter offers these)."""
    return [
        t for (t,) in con.execute("SELECT DISTINCT tag FROM video_tags ORDER BY tag").fetchall()
    ]


def names(con: duckdb.DuckDBPyConnection, video_ids: list[str]) -> dict[str, str]:
    """video_id -> display name, of these videos only."""
    return dict(
        con.execute(
            "SELECT video_id, file_name FROM video_names WHERE list_contains(?, video_id)",
            [video_ids],
        ).fetchall()
    )


def stored_thumbnail(con: duckdb.DuckDBPyConnection, video_id: str, t: float) -> bytes | None:
    """The stored thumbnail (JPEG, `sampling.thumbnail_width` wide) of the video's frame
    nearest `t`; None when it has no frames."""
    row = con.execute(
        "SELECT thumbnail FROM frames WHERE video_id = ? ORDER BY abs(t - ?), t LIMIT 1",
        [video_id, t],
    ).fetchone()
    return row[0] if row else None


# --- the video page


def video(con: duckdb.DuckDBPyConnection, video_id: str) -> dict | None:
    """The video's display name, path, duration, ok and error (`video_names`)."""
    return _one(con, "SELECT * FROM video_names WHERE video_id = ?", [video_id])


def summary(con: duckdb.DuckDBPyConnection, video_id: str) -> dict | None:
    """What the video is about: top tags, their coverage, a sentence (or why it could
    not be catalogued), its status ('damaged': decoded with errors, said in `damage`)."""
    return _one(
        con, "SELECT * FROM video_summaries WHERE video_id = ? ORDER BY path LIMIT 1", [video_id]
    )


def risk(con: duckdb.DuckDBPyConnection, video_id: str) -> dict | None:
    """The moderation decision (review or clear), risk and evidence."""
    return _one(con, "SELECT * FROM video_risk WHERE video_id = ?", [video_id])


def tag_segments(con: duckdb.DuckDBPyConnection, video_id: str) -> dict[str, list[dict]]:
    """tag -> the time ranges where it holds, in time order."""
    rows = dict_rows(
        con, "SELECT * FROM segments WHERE video_id = ? ORDER BY tag, start", [video_id]
    )
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["tag"], []).append(r)
    return out


def severity(con: duckdb.DuckDBPyConnection, video_id: str) -> dict[int, float]:
    """bin -> the highest severity in that bin of the video's timeline (HEATMAP_BINS
    bins spread evenly over the video; a bin with no data is absent)."""
    return dict(
        con.execute(
            "SELECT bin, max(severity) FROM moderation_timeline WHERE video_id = ? "
            "AND severity IS NOT NULL GROUP BY bin",
            [video_id],
        ).fetchall()
    )


def codec(con: duckdb.DuckDBPyConnection, path: str) -> str | None:
    """The video codec ffprobe found in the archive file at `path` (its manifest row)."""
    row = con.execute("SELECT codec FROM manifest WHERE path = ?", [path]).fetchone()
    return row[0] if row else None


def flagged(con: duckdb.DuckDBPyConnection, video_id: str) -> list[dict]:
    """Sensitive time ranges with their peak frame's thumbnail, in time order."""
    return dict_rows(
        con,
        "SELECT * FROM moderation_segments WHERE video_id = ? ORDER BY start, concept",
        [video_id],
    )


def marked_wrong(con: duckdb.DuckDBPyConnection, video_id: str) -> dict[str, dict]:
    """tag -> the answer in force saying the whole video is not that tag."""
    rows = dict_rows(
        con,
        "SELECT * FROM verdicts_effective WHERE scope = 'video' "
        "AND video_id = ? AND verdict = 'no' ORDER BY answered_at, verdict_id",
        [video_id],
    )
    return {r["tag"]: r for r in rows}


# --- answers


def verdict(con: duckdb.DuckDBPyConnection, verdict_id: str | None) -> dict | None:
    """One row of the verdict log (undo rows included) by id; None when there is none."""
    if not verdict_id:
        return None
    return _one(con, "SELECT * FROM verdicts WHERE verdict_id = ?", [verdict_id])


# --- learning


def learning_changes(layout: Layout) -> list[dict]:
    """What the last learning step changed, one row per answered tag
    (`Layout.learning_changes`, schema LEARNING_CHANGES), the tags whose frames changed
    first; none before the first step that had answers."""
    if not layout.learning_changes.exists():
        return []
    rows = pq.read_table(layout.learning_changes).to_pylist()
    return sorted(rows, key=lambda r: (-(r["frames_changed"] or 0), r["tag"]))
