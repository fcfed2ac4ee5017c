"""The verdict log: people's answers, append-only, kept beside the catalogue.

Each append is one new Parquet file under out/feedback/verdicts/ (written atomically),
so nothing ever rewrites history and no asset touches it on re-materialisation. A row
says: for this scope (a frame, a segment or a whole video) of this video, over this
time range, is this tag right? yes / no / unsure. Undo is a newer row (verdict 'undo')
naming the row it takes back. The effective verdict for an item is the latest one not
undone; a 'no' keeps the tag off that item through every later run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from reelcat.store import write_table

VERDICTS = pa.schema(
    [
        ("verdict_id", pa.string()),
        ("scope", pa.string()),  # frame | segment | video
        ("video_id", pa.string()),
        ("start", pa.float64()),  # seconds; a frame has start == end
        ("end", pa.float64()),
        ("tag", pa.string()),
        ("verdict", pa.string()),  # yes | no | unsure | undo
        ("reviewer", pa.string()),
        ("answered_at", pa.timestamp("us", tz="UTC")),
        ("model_id", pa.string()),
        ("vocabulary_id", pa.string()),
        ("undoes", pa.string()),  # for 'undo': the verdict_id taken back
        ("source", pa.string()),  # question | audit | cluster | button | cli
    ]
)
SCOPES = ("frame", "segment", "video")
ANSWERS = ("yes", "no", "unsure")
GENESIS = "00000000T000000-genesis.parquet"


class VerdictError(ValueError):
    """A verdict that cannot be recorded; nothing was written."""


def verdict_dir(out: Path) -> Path:
    folder = Path(out) / "feedback" / "verdicts"
    if not (folder / GENESIS).exists():  # an empty first file: the log's views always bind
        write_table(VERDICTS.empty_table(), folder / GENESIS, VERDICTS)
    return folder


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


def append(out: Path, verdicts: list[Verdict]) -> list[str]:
    """Validate and append; returns the new verdict ids. All or nothing."""
    rows = []
    now = datetime.now(UTC)
    for v in verdicts:
        if v.scope not in SCOPES:
            raise VerdictError(f"scope must be one of {SCOPES}, not {v.scope!r}")
        if v.verdict not in (*ANSWERS, "undo"):
            raise VerdictError(f"verdict must be yes, no, unsure or undo, not {v.verdict!r}")
        if v.verdict == "undo" and not v.undoes:
            raise VerdictError("an undo must name the verdict it takes back")
        if v.end < v.start:
            raise VerdictError(f"time range ends before it starts: {v.start}..{v.end}")
        rows.append({"verdict_id": uuid.uuid4().hex, **v.__dict__, "answered_at": now})
    if not rows:
        return []
    stamp = now.strftime("%Y%m%dT%H%M%S%f")
    write_table(pa.Table.from_pylist(rows, schema=VERDICTS),
                verdict_dir(out) / f"{stamp}-{rows[0]['verdict_id'][:8]}.parquet", VERDICTS)
    return [r["verdict_id"] for r in rows]


EFFECTIVE_SQL = """
WITH log AS (SELECT * FROM read_parquet($glob)),
live AS (
    SELECT * FROM log
    WHERE verdict != 'undo'
      AND verdict_id NOT IN (SELECT undoes FROM log WHERE undoes IS NOT NULL)
)
SELECT * FROM live
QUALIFY row_number() OVER (PARTITION BY scope, video_id, tag, start, "end"
                           ORDER BY answered_at DESC, verdict_id DESC) = 1
"""


def effective(out: Path) -> list[dict]:
    """The verdicts in force: latest per (scope, video, tag, range), undone ones removed."""
    glob = str(verdict_dir(out) / "*.parquet")
    return duckdb.sql(EFFECTIVE_SQL, params={"glob": glob}).to_arrow_table().to_pylist()


def log(out: Path) -> list[dict]:
    glob = str(verdict_dir(out) / "*.parquet")
    return duckdb.sql("SELECT * FROM read_parquet($glob) ORDER BY answered_at, verdict_id",
                      params={"glob": glob}).to_arrow_table().to_pylist()
