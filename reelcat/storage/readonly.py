"""The catalogue opened for reading only: `reelcat sql`, the review pages, every reader.

Two fences, so that a person's query can neither write nor look outside the output folder:

* `open_read_only` gives a private in-memory DuckDB that attaches the catalogue file
  READ_ONLY, then reads files only inside the output folder (`allowed_directories` with
  `enable_external_access` off: no COPY, ATTACH, INSTALL or read_text anywhere else), never
  installs or loads extensions, and locks its configuration (no SET, RESET or
  settings-changing PRAGMA). Its instance is its own, so the lock touches no other
  connection. The catalogue's path macros give paths relative to the output folder (so the
  folder can move); DuckDB checks a relative path against the working directory, so the
  connection shadows each one with a temporary macro that gives the absolute path.
* `read_statements` lets through only statements that read (SELECT and what DuckDB turns
  into one: DESCRIBE, SHOW, SUMMARIZE, FROM …; EXPLAIN of such a statement; PRAGMAs that
  only report), and refuses everything else before any of it runs, with one reason per
  statement. Inside the output folder DuckDB would let COPY TO, EXPORT DATABASE and the like
  write; this is the fence that stops them.

`refusal` turns DuckDB's own refusals (a file outside the folder, a locked setting) into
one line.
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import duckdb

from reelcat.storage import remote
from reelcat.storage.layout import Layout

ST = duckdb.StatementType
# PRAGMAs that only report (PRAGMA name or PRAGMA name(args)); every other one is refused.
READ_PRAGMAS = frozenset(
    """table_info show show_tables show_tables_expanded database_list database_size
    storage_info metadata_info functions collations version platform user_agent""".split()
)
ONLY_READS = "reelcat sql only reads"
# What a refused statement would do, by DuckDB's statement type.
_WOULD = {
    ST.INSERT: "changes tables",
    ST.UPDATE: "changes tables",
    ST.DELETE: "changes tables",
    ST.MERGE_INTO: "changes tables",
    ST.CREATE: "creates objects",
    ST.CREATE_FUNC: "creates functions",
    ST.DROP: "drops objects",
    ST.ALTER: "changes objects",
    ST.COPY: "writes files",
    ST.EXPORT: "writes files",
    ST.COPY_DATABASE: "writes a database",
    ST.ATTACH: "opens another database",
    ST.DETACH: "closes a database",
    ST.LOAD: "installs or loads extensions",
    ST.SET: "changes settings",
    ST.VARIABLE_SET: "sets variables",
    ST.CALL: "runs a procedure",
    ST.VACUUM: "rewrites the database",
    ST.ANALYZE: "rewrites the database",
    ST.TRANSACTION: "starts or ends a transaction",
    ST.PREPARE: "prepares a statement to run later",
    ST.EXECUTE: "runs a prepared statement",
    ST.MULTI: "runs several statements (a PIVOT without IN (...) creates types)",
}
_BY_KEYWORD = {  # where the first word says more than the statement type
    "INSTALL": "downloads and installs extensions",
    "LOAD": "loads extensions",
    "USE": "changes the current database",
    "RESET": "changes settings",
    "CHECKPOINT": "writes the database",
    "IMPORT": "creates tables from files",
    "TRUNCATE": "changes tables",
    "DEALLOCATE": "drops a prepared statement",
}


class Refused(Exception):
    """Statements a read-only session does not run: one reason per refused statement."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def open_read_only(layout: Layout) -> duckdb.DuckDBPyConnection:
    """A connection to the catalogue that can only read, and only inside the output folder;
    for an output published to object storage (`layout.url`), only inside that prefix, read
    through the same filesystem as every other object (reelcat.storage.remote)."""
    out = Path(layout.out).resolve()
    catalog = Layout(out).catalog
    if not catalog.exists():
        raise FileNotFoundError(f"no catalogue at {catalog}: run `reelcat run` first")
    con = duckdb.connect(
        ":memory:",  # a private instance: the settings and the lock below are its own
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
            "allow_persistent_secrets": False,
        },
    )
    try:
        name = _ident(catalog.stem)
        con.execute(f"ATTACH ? AS {name} (READ_ONLY)", [str(catalog)])
        con.execute(f"USE {name}")
        _absolute_path_macros(con, Layout(out, layout.url))
        con.execute("SET file_search_path = ?", [layout.url or str(out)])
        # Spill files of a large query (removed after it) stay inside the output folder,
        # where DuckDB puts them for a catalogue opened directly.
        con.execute("SET temp_directory = ?", [f"{catalog}.tmp"])
        allowed = [str(out)]
        if layout.url:
            con.register_filesystem(remote.fsspec_filesystem(layout.url))
            allowed = [layout.url + "/", f"{catalog}.tmp"]
        con.execute("SET allowed_directories = ?", [allowed])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def _absolute_path_macros(con: duckdb.DuckDBPyConnection, layout: Layout) -> None:
    """Temporary `<name>_path()` macros giving absolute paths under the folder the
    catalogue is opened in (it may have moved since it was built), or URLs under
    `layout.url`; the views find them first. From the Layout and the catalogue's own
    settings; for a catalogue without them, its own relative macros made absolute."""
    try:
        settings = con.execute(
            "SELECT model_id, sampling_id, vocabulary_id, results_key FROM catalog_settings"
        ).fetchall()
    except duckdb.Error:  # a catalogue from before these settings
        settings = []
    if settings:
        for macro in layout.sql_macros(*settings[0], absolute=True, temp=True):
            con.execute(macro)
        return
    names = con.execute(
        "SELECT DISTINCT function_name FROM duckdb_functions() "
        "WHERE database_name = current_database() AND schema_name = 'main' "
        "AND function_type = 'macro' AND len(parameters) = 0 "
        "AND function_name LIKE '%\\_path' ESCAPE '\\' ORDER BY 1"
    ).fetchall()
    for (name,) in names:
        ((path,),) = con.execute(f"SELECT {_ident(name)}()").fetchall()
        if isinstance(path, str) and not Path(path).is_absolute() and "://" not in path:
            con.execute(
                f"CREATE OR REPLACE TEMP MACRO {_ident(name)}() AS "
                f"{_literal(str(layout.out / path))}"
            )


def read_statements(con: duckdb.DuckDBPyConnection, sql: str) -> list[duckdb.Statement]:
    """The statements of `sql`, when every one of them only reads; `Refused` otherwise (and
    then none of them has run). A syntax error is DuckDB's own error."""
    statements = con.extract_statements(sql)
    reasons = [r for r in map(partial(_refused, con), statements) if r]
    if reasons:
        raise Refused(reasons)
    return statements


def _refused(con: duckdb.DuckDBPyConnection, statement: duckdb.Statement) -> str | None:
    """Why a statement is refused, or None when it only reads."""
    query = statement.query
    words = _tokens(query)
    try:
        kind = statement.type
    except ValueError:  # a statement type this duckdb module has no name for
        label = " ".join(w.upper() for w, _ in words[:2])
        return f"{label} is a statement reelcat sql does not run; {ONLY_READS}"
    if kind == ST.SELECT:
        return None
    first = words[0][0].upper() if words else str(kind.name)
    if kind == ST.EXPLAIN:
        return _explain_refused(con, query, words)
    if kind == ST.PRAGMA and first == "PRAGMA" and len(words) > 1:
        name = words[1][0].lower()
        if name in READ_PRAGMAS and not any(text == "=" for text, _ in words):
            return None
        return f"PRAGMA {name} is not one that only reports; {ONLY_READS}"
    if first == "COPY" and kind == ST.PRAGMA:  # COPY FROM DATABASE
        return f"COPY FROM DATABASE writes a database; {ONLY_READS}"
    if first == "PRAGMA":  # PRAGMA x = y is a SET
        return f"PRAGMA {words[1][0] if len(words) > 1 else ''} changes settings; {ONLY_READS}"
    label, key = first, first
    if first == "FORCE" and len(words) > 1:  # FORCE INSTALL, FORCE CHECKPOINT
        key = words[1][0].upper()
        label = f"FORCE {key}"
    what = _BY_KEYWORD.get(key) or _WOULD.get(kind) or f"is a {kind.name} statement"
    if kind == ST.COPY and not _copies_to(words):
        what = "loads files into tables"
    return f"{label} {what}; {ONLY_READS}"


def _explain_refused(con: duckdb.DuckDBPyConnection, query: str, words: list) -> str | None:
    """EXPLAIN [ANALYZE] [(options)] statement: refused unless the statement only reads
    (EXPLAIN ANALYZE runs it)."""
    i = 1
    if i < len(words) and words[i][0].upper() in ("ANALYZE", "ANALYSE"):
        i += 1
    if i < len(words) and words[i][0] == "(":  # options, or a parenthesised query
        options, depth = i, 0
        while i < len(words):
            depth += {"(": 1, ")": -1}.get(words[i][0], 0)
            i += 1
            if depth == 0:
                break
        if i >= len(words):
            i = options
    if i >= len(words):
        return f"EXPLAIN of nothing reelcat sql can check; {ONLY_READS}"
    inner = query[words[i][1] :]
    try:
        (statement,) = con.extract_statements(inner)
    except (duckdb.Error, ValueError):
        return f"EXPLAIN of a statement reelcat sql cannot check; {ONLY_READS}"
    return _refused(con, statement)


def _copies_to(words: list) -> bool:
    """Whether a COPY statement writes (COPY … TO), outside any parentheses."""
    depth = 0
    for text, _ in words:
        depth += {"(": 1, ")": -1}.get(text, 0)
        if depth == 0 and text.upper() == "TO":
            return True
    return False


def _tokens(query: str) -> list[tuple[str, int]]:
    """The statement's tokens as (text, offset), comments left out."""
    found = duckdb.tokenize(query)
    ends = [start for start, _ in found[1:]] + [len(query)]
    return [
        (query[start:end].strip(), start)
        for (start, kind), end in zip(found, ends, strict=True)
        if kind != duckdb.token_type.comment
    ]


def refusal(exc: duckdb.Error, out: str | Path) -> str | None:
    """DuckDB's refusal of something a read-only connection may not do, as one line;
    None for any other error."""
    text = str(exc)
    if isinstance(exc, duckdb.PermissionException):
        found = re.search(r'Cannot access (?:file|directory) "([^"]*)"', text)
        if found:
            return (
                f"{found[1]}: reelcat sql reads files only inside the output folder "
                f"{Path(out).resolve()} (give their full path)"
            )
        if "extension" in text.lower():
            return f"extensions are not installed or loaded here; {ONLY_READS}"
        return f"{text.splitlines()[0]}; {ONLY_READS}"
    found = re.search(r'Cannot change configuration option "([^"]+)"', text)
    if found:
        return f"the query changes the setting {found[1]}; {ONLY_READS}"
    return None


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
