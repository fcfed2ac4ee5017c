"""The verdict log as people read it: who said what about which frame, when, and whether
it still holds.

`reelcat verdicts` and the review page's /verdicts list the same rows with the same
filters, newest first; `standing_since` picks what "take back everything since then"
undoes. Each row gets a `status`:

    in force   an answer that holds (the `verdicts_effective` view)
    replaced   an answer a newer answer about the same item took over
    undone     an answer or skip some undo row names
    skipped    a skip: the question was left for later (listed with `everything` only)
    undo       an undo row (listed with `everything` only)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import duckdb

from reelcat.feedback.verdicts import ANSWERS, VerdictError
from reelcat.storage.views import dict_rows

UNDOABLE = ("in force", "skipped")  # the statuses an Undo button is offered for

_ROWS = """
WITH undone AS (SELECT DISTINCT undoes FROM verdicts WHERE undoes IS NOT NULL),
live AS (SELECT verdict_id FROM verdicts_effective)
SELECT v.*,
       CASE WHEN v.verdict = 'undo' THEN 'undo'
            WHEN v.verdict_id IN (SELECT undoes FROM undone) THEN 'undone'
            WHEN v.verdict = 'skip' THEN 'skipped'
            WHEN v.verdict_id IN (SELECT verdict_id FROM live) THEN 'in force'
            ELSE 'replaced' END AS status,
       count(*) OVER () AS matching
FROM verdicts AS v
"""


@dataclass(frozen=True)
class Filters:
    """Which rows of the log to list (every field optional)."""

    tag: str | None = None
    video: str | None = None  # a file name or a video id
    reviewer: str | None = None
    since: datetime | None = None  # answered at or after
    limit: int = 50
    everything: bool = False  # also skips and undo rows


def parse_since(text: str) -> datetime:
    """An ISO date or date-time (2026-12-01, 2026-12-01T14:30, …+00:00); one without a
    zone is this machine's local time."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise VerdictError(
            f"{text!r} is not an ISO date or date-time (e.g. 2026-12-01 or 2026-12-01T14:30)"
        ) from None
    return when if when.tzinfo else when.astimezone()


def _where(f: Filters, verdicts: tuple[str, ...]) -> tuple[str, list]:
    """The WHERE clause and its parameters for the filters, over the given verdict kinds."""
    clauses, params = ["list_contains(?, v.verdict)"], [list(verdicts)]
    for column, value in (("tag", f.tag), ("reviewer", f.reviewer)):
        if value:
            clauses.append(f"v.{column} = ?")
            params.append(value)
    if f.video:
        clauses.append("(v.video_id = ? OR v.file_name = ?)")
        params += [f.video, f.video]
    if f.since is not None:
        clauses.append("v.answered_at >= ?")
        params.append(f.since)
    return " WHERE " + " AND ".join(clauses), params


def listed(con: duckdb.DuckDBPyConnection, f: Filters) -> tuple[list[dict], int]:
    """The log rows that pass the filters, newest first (at most `f.limit`), each with
    its `status`, and how many rows pass in all."""
    kinds = (*ANSWERS, "skip", "undo") if f.everything else ANSWERS
    where, params = _where(f, kinds)
    rows = dict_rows(
        con,
        _ROWS + where + " ORDER BY v.answered_at DESC, v.verdict_id DESC LIMIT ?",
        [*params, max(0, f.limit)],
    )
    return rows, (rows[0]["matching"] if rows else _count(con, where, params))


def _count(con: duckdb.DuckDBPyConnection, where: str, params: list) -> int:
    ((n,),) = con.execute(f"SELECT count(*) FROM verdicts AS v {where}", params).fetchall()
    return n


def standing_since(con: duckdb.DuckDBPyConnection, f: Filters) -> list[dict]:
    """The answers given at or after `f.since` (and passing the other filters) that no
    undo names yet, newest first: what undoing everything since then takes back. An
    answer a newer one replaced is among them, so it cannot come back into force; skips
    too with `f.everything`."""
    if f.since is None:
        raise VerdictError("say since when: an ISO date or date-time")
    where, params = _where(f, (*ANSWERS, "skip") if f.everything else ANSWERS)
    rows = dict_rows(con, _ROWS + where + " ORDER BY v.answered_at DESC, v.verdict_id DESC", params)
    return [r for r in rows if r["status"] in ("in force", "replaced", "skipped")]


# ----------------------------------------------------------------------------- shown


def clock(t: float | None) -> str:
    """Seconds as m:ss (h:mm:ss past an hour), tenths when not whole."""
    if t is None or not math.isfinite(t):
        return "?"
    whole = abs(t - round(t)) < 0.05
    secs = f"{t % 60:02.0f}" if whole else f"{t % 60:04.1f}"
    minutes, hours = int(t // 60) % 60, int(t // 3600)
    return f"{hours}:{minutes:02d}:{secs}" if hours else f"{minutes}:{secs}"


def cells(row: dict) -> dict[str, str]:
    """One log row as the columns people read: when (local time), reviewer, video, time,
    tag, verdict, scope, source, id (its first 8 characters), status."""
    status = row["status"]
    if status == "undo" and row.get("undoes"):
        status = f"undoes {row['undoes'][:8]}"
    return {
        "when": row["answered_at"].astimezone().strftime("%Y-%m-%d %H:%M:%S"),
        "reviewer": row["reviewer"] or "",
        "video": row.get("file_name") or row["video_id"],
        "time": "whole video" if row["scope"] == "video" else clock(row["start"]),
        "tag": row["tag"],
        "verdict": row["verdict"],
        "scope": row["scope"],
        "source": row["source"] or "",
        "id": row["verdict_id"][:8],
        "status": status,
    }


def table_lines(rows: list[dict]) -> list[str]:
    """The rows as a plain-text table with a header, columns as wide as their contents."""
    shown = [cells(r) for r in rows]
    if not shown:
        return []
    names = list(shown[0])
    widths = {n: max(len(n), *(len(c[n]) for c in shown)) for n in names}
    line = "  ".join(n.ljust(widths[n]) for n in names).rstrip()
    return [line] + ["  ".join(c[n].ljust(widths[n]) for n in names).rstrip() for c in shown]
