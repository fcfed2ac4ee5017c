"""Query results as people and programs read them (`reelcat sql`, `reelcat tags`): a
box table like DuckDB's own client (every column, floats rounded), or csv, json and
markdown."""

from __future__ import annotations

import csv
import io
import json
import math
from decimal import Decimal

SQL_FORMATS = ("table", "csv", "json", "markdown")
CELL_WIDTH = 60  # characters of one value a table shows (an embedding has thousands)


def result_text(rel, form: str, max_rows: int) -> str:
    """One statement's result: a table for people (every column, numbers rounded, at
    most max_rows rows; a query plan as the plan itself), csv or json for programs (every
    row, values exact: json is one array of objects per statement, on one line), or a
    markdown table (every row, numbers rounded)."""
    names = rel.columns
    if form == "table":
        rows = rel.limit(max_rows + 1).fetchall()
        if names == ["explain_key", "explain_value"]:  # EXPLAIN [ANALYZE]
            return "\n".join(f"{key}:\n{plan}" for key, plan in rows)
        types = [str(t).lower().strip('"') for t in rel.types]
        return table(names, types, rows[:max_rows], more=len(rows) > max_rows)
    rows = rel.fetchall()
    if form == "csv":
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([_cell(v, exact=True) if v is not None else "" for v in r] for r in rows)
        return text.getvalue().rstrip("\n")
    if form == "json":
        return json.dumps([dict(zip(names, map(_json_value, r), strict=True)) for r in rows])
    return _markdown(names, rows)


def rounded(x: float) -> str:
    """A float to about 4 significant digits, keeping every digit of its integer part
    (0.3333, 12.35, 123457); scientific where it is tiny or huge."""
    if not math.isfinite(x) or x == 0:
        return str(x)
    magnitude = math.floor(math.log10(abs(x)))
    if not -5 < magnitude < 15:
        return f"{x:.4g}"
    text = f"{x:.{max(0, 3 - magnitude)}f}"
    if "." in text:  # no trailing zeros, but a float keeps its point: 9.0, 0.5
        text = text.rstrip("0")
        text += "0" if text.endswith(".") else ""
    return text


def _cell(value, exact: bool = False) -> str:
    """A value as text on one line: NULL, true/false, floats to about 4 significant digits
    (every digit when `exact`), lists and structs written as DuckDB writes them."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value) if exact else rounded(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_cell(v, exact) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"'{k}': {_cell(v, exact)}" for k, v in value.items()) + "}"
    if isinstance(value, bytes):  # as DuckDB writes a blob: printable ASCII, else \xHH
        return "".join(chr(b) if 32 <= b < 127 and b != 92 else f"\\x{b:02X}" for b in value)
    return str(value) if exact else str(value).replace("\n", "\\n")


def _json_value(value):
    """A value as JSON has it: numbers stay numbers (NaN and infinities null), times
    ISO 8601, lists and structs as arrays and objects, anything else its text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float | Decimal):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _numeric(value) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _right_aligned(rows: list[tuple], columns: int) -> list[bool]:
    """Which columns hold numbers only (and at least one): those are right-aligned."""
    return [
        any(r[i] is not None for r in rows)
        and all(_numeric(r[i]) for r in rows if r[i] is not None)
        for i in range(columns)
    ]


def table(names: list[str], types: list[str], rows: list[tuple], more: bool) -> str:
    """Rows in a box as DuckDB's own client draws them (names, types, values), but every
    column, however wide: a value longer than CELL_WIDTH is cut with "…"."""
    from rich.cells import cell_len, set_cell_size

    def cut(text: str) -> str:
        return text if cell_len(text) <= CELL_WIDTH else set_cell_size(text, CELL_WIDTH - 1) + "…"

    cells = [[cut(_cell(v)) for v in row] for row in rows]
    right = _right_aligned(rows, len(names))
    widths = [
        max(cell_len(names[i]), cell_len(types[i]), *(cell_len(r[i]) for r in cells))
        for i in range(len(names))
    ]

    def line(left: str, middle: str, end: str) -> str:
        return left + middle.join("─" * (w + 2) for w in widths) + end

    def row(texts: list[str], how: list[str]) -> str:
        padded = []
        for text, width, align in zip(texts, widths, how, strict=True):
            room = width - cell_len(text)
            left = {"left": 0, "right": room, "center": room // 2}[align]
            padded.append(" " * left + text + " " * (room - left))
        return "│ " + " │ ".join(padded) + " │"

    centered = ["center"] * len(names)
    lines = [line("┌", "┬", "┐"), row(names, centered), row(types, centered)]
    lines.append(line("├", "┼", "┤"))
    lines += [row(r, ["right" if x else "left" for x in right]) for r in cells]
    lines.append(line("└", "┴", "┘"))
    if not rows:
        lines.append("0 rows".center(cell_len(lines[0])).rstrip())
    elif more:
        lines.append(f"(the first {len(rows)} rows: --max-rows N shows more)")
    return "\n".join(lines)


def _markdown(names: list[str], rows: list[tuple]) -> str:
    """Rows as a markdown table, numbers right-aligned and rounded."""

    def row(texts) -> str:
        return "| " + " | ".join(t.replace("|", "\\|") for t in texts) + " |"

    rule = ["---:" if r else "---" for r in _right_aligned(rows, len(names))]
    return "\n".join([row(names), row(rule)] + [row(map(_cell, r)) for r in rows])
