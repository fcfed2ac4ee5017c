"""The verdict log: people's answers, append-only, kept beside the catalogue.

Each append is one new Parquet file in the output folder's verdict log (written
atomically), so nothing ever rewrites history and no asset touches it on
re-materialisation. A row says: for this scope (a frame, or a whole video) of this
video, is this tag right? yes / no / unsure. Undo is a newer row (verdict 'undo')
naming the row it takes back. Which answer is in force on a frame is one rule, the
`frame_verdicts` view (reelcat/storage/sql/frame_verdicts.sql): the newest answer
covering it wins, a frame answer covering the stored frame nearest its time.
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
