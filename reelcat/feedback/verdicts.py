"""The verdict log: people's answers, append-only, kept beside the catalogue.

Each append is one new Parquet file in the output folder's verdict log (written
atomically), so nothing ever rewrites history and no asset touches it on
re-materialisation. A row says: for this scope (a frame, or a whole video) of this
video, is this tag right? yes / no / unsure. Undo is a newer row (verdict 'undo')
naming the row it takes back; a skip (verdict 'skip') records that a question was left
unanswered, with the model's score then, and is never an answer. Which answer is in
force on a frame is one rule, the `frame_verdicts` view
(reelcat/storage/sql/frame_verdicts.sql): the newest answer covering it wins, a frame
answer covering the stored frame nearest its time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from reelcat.storage.layout import Layout
from reelcat.storage.parquet import write_table
from reelcat.storage.schemas import VERDICTS
from reelcat.storage.views import dict_rows

SCOPES = ("frame", "video")
ANSWERS = ("yes", "no", "unsure")


class VerdictError(ValueError):
    """A verdict that cannot be recorded; nothing was written."""


class UnknownVerdict(VerdictError):
    """No verdict in the log has that id (or id prefix)."""


@dataclass(frozen=True)
class Verdict:
    scope: str
    video_id: str
    start: float
    end: float
    tag: str
    verdict: str
    reviewer: str = "anonymous"
    model_id: str = ""
    vocabulary_id: str = ""
    undoes: str | None = None
    source: str = "cli"
    score: float | None = None  # the model's score when the question was asked


def append(layout: Layout, verdicts: list[Verdict]) -> list[str]:
    """Validate and append; returns the new verdict ids. All or nothing."""
    rows = []
    now = datetime.now(UTC)
    for v in verdicts:
        if v.scope not in SCOPES:
            raise VerdictError(f"scope must be one of {SCOPES}, not {v.scope!r}")
        if v.verdict not in (*ANSWERS, "skip", "undo"):
            raise VerdictError(f"verdict must be yes, no, unsure, skip or undo, not {v.verdict!r}")
        if v.verdict == "undo" and not v.undoes:
            raise VerdictError("an undo must name the verdict it takes back")
        if v.end < v.start:
            raise VerdictError(f"time range ends before it starts: {v.start}..{v.end}")
        rows.append({"verdict_id": uuid.uuid4().hex, **v.__dict__, "answered_at": now})
    if not rows:
        return []
    stamp = now.strftime("%Y%m%dT%H%M%S%f")
    write_table(
        pa.Table.from_pylist(rows, schema=VERDICTS),
        layout.verdicts_dir / f"{stamp}-{rows[0]['verdict_id'][:8]}.parquet",
        VERDICTS,
    )
    return [r["verdict_id"] for r in rows]


def effective(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """The answers in force (the `verdicts_effective` view), oldest first."""
    return dict_rows(con, "SELECT * FROM verdicts_effective ORDER BY answered_at, verdict_id")


def log(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """The whole log, undo rows included, oldest first."""
    return dict_rows(con, "SELECT * FROM verdicts ORDER BY answered_at, verdict_id")


def find(con: duckdb.DuckDBPyConnection, id_or_prefix: str) -> dict:
    """The one log row whose verdict id is, or starts with, `id_or_prefix`."""
    prefix = id_or_prefix.strip().lower()
    if not prefix:
        raise UnknownVerdict("an empty verdict id names nothing")
    rows = dict_rows(
        con,
        "SELECT * FROM verdicts WHERE starts_with(verdict_id, ?) ORDER BY verdict_id LIMIT 6",
        [prefix],
    )
    if not rows:
        raise UnknownVerdict(f"no verdict {id_or_prefix!r} in the log")
    if len(rows) > 1:
        shown = ", ".join(r["verdict_id"][:12] for r in rows[:5]) + (", …" if len(rows) > 5 else "")
        raise VerdictError(f"{id_or_prefix!r} is ambiguous: it starts {shown}; give more of the id")
    return rows[0]


def undoable(con: duckdb.DuckDBPyConnection, ids: list[str]) -> list[dict]:
    """The log rows these ids (or unique prefixes of them) name, each checked to be an
    answer or skip that is not undone yet; raises VerdictError naming the first that is not."""
    rows = [find(con, i) for i in ids]
    undone = {
        u
        for (u,) in con.execute(
            "SELECT undoes FROM verdicts WHERE list_contains(?, undoes)",
            [[r["verdict_id"] for r in rows]],
        ).fetchall()
    }
    for r in rows:
        if r["verdict"] == "undo":
            raise VerdictError(f"{r['verdict_id']} is an undo: answer again instead")
        if r["verdict_id"] in undone:
            raise VerdictError(f"verdict {r['verdict_id']} is already undone")
    if len({r["verdict_id"] for r in rows}) < len(rows):
        raise VerdictError("the same verdict is named twice")
    return rows


def undo(
    layout: Layout, rows: list[dict], *, reviewer: str, model_id: str = "", vocabulary_id: str = ""
) -> list[str]:
    """Take back these log rows: one newer 'undo' row naming each, appended at once.
    Returns the undo rows' ids (check the rows with `undoable` first)."""
    return append(
        layout,
        [
            Verdict(
                scope=r["scope"],
                video_id=r["video_id"],
                start=r["start"],
                end=r["end"],
                tag=r["tag"],
                verdict="undo",
                reviewer=reviewer,
                model_id=model_id,
                vocabulary_id=vocabulary_id,
                undoes=r["verdict_id"],
                source=r["source"],
            )
            for r in rows
        ],
    )


def take_back(
    con: duckdb.DuckDBPyConnection,
    layout: Layout,
    ids: list[str],
    *,
    reviewer: str,
    model_id: str = "",
    vocabulary_id: str = "",
) -> list[dict]:
    """Undo the answers (or skips) these ids, or unique prefixes of them, name: all or
    nothing. Returns their log rows, each with its undo row's id as `undo_id`. The one
    way anything is undone (the review page, `reelcat review`, `reelcat verdicts`)."""
    rows = undoable(con, ids)
    undo_ids = undo(layout, rows, reviewer=reviewer, model_id=model_id, vocabulary_id=vocabulary_id)
    return [{**r, "undo_id": u} for r, u in zip(rows, undo_ids, strict=True)]
