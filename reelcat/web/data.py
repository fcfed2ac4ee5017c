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


def queue(con: duckdb.DuckDBPyConnection, limit: int) -> list[dict]:
    """The review queue in its stored order (to review first, then cleared), each video
    with its flagged time ranges, its length and its damage (`damage`: decoded with
    errors, in words; None for a clean decode)."""
    return dict_rows(
        con,
        "SELECT q.*, n.duration, d.damage FROM review_queue AS q "
        "LEFT JOIN video_names AS n USING (video_id) "
        "LEFT JOIN (SELECT video_id, min(damage) AS damage FROM video_summaries "
        "GROUP BY video_id) AS d USING (video_id) "
        "ORDER BY q.position LIMIT ?",
        [limit],
    )


def decisions(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """How many videos were decided 'review' and how many 'clear'."""
    return dict(
        con.execute("SELECT decision, count(*) FROM video_risk GROUP BY decision").fetchall()
    )


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
