"""`reelcat sql` and every reader's connection only read (issue 17, item 2): a statement
that would write, copy, attach, install, load or change settings is refused with one line
and exit code 2, a read outside the output folder is refused by DuckDB itself, and nothing
under the output folder changes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from catalog.build import open_catalog
from reelcat.storage.layout import Layout
from reelcat.storage.readonly import Refused, read_statements
from reelcat.web.data import open_catalogue

from .conftest import run_cli

ONLY_READS = "reelcat sql only reads"


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under `folder` with its size and modification time."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
    }


def counts(out: Path) -> tuple[int, int]:
    con = open_catalog(out)
    try:
        return con.execute(
            "SELECT (SELECT count(*) FROM manifest), (SELECT count(*) FROM frames)"
        ).fetchone()
    finally:
        con.close()


def outside_folder(path: str, out: Path) -> str:
    return (
        f"{path}: reelcat sql reads files only inside the output folder {out.resolve()} "
        "(give their full path)"
    )


# (statement, the reasons printed, one line each); {out} and {tmp} are filled in.
REFUSED = {
    "copy_over_manifest": (
        "COPY (SELECT * FROM manifest WHERE false) TO '{out}/manifest.parquet' (FORMAT parquet)",
        ["COPY writes files"],
    ),
    "copy_elsewhere": ("COPY (SELECT 1 AS a) TO '{tmp}/copied.parquet'", ["COPY writes files"]),
    "copy_new_file_in_folder": (
        "COPY (SELECT * FROM frames) TO '{out}/frames.csv'",
        ["COPY writes files"],
    ),
    "copy_from_file": (
        "COPY manifest FROM '{out}/manifest.parquet'",
        ["COPY loads files into tables"],
    ),
    "attach_and_drop": (
        "ATTACH '{tmp}/other.duckdb' AS other (READ_WRITE); DROP TABLE other.t",
        ["ATTACH opens another database", "DROP drops objects"],
    ),
    "drop_catalogue_table": ("DROP TABLE tag_frequencies", ["DROP drops objects"]),
    "set": ("SET threads = 1", ["SET changes settings"]),
    "reset": ("RESET threads", ["RESET changes settings"]),
    "pragma_setting": ("PRAGMA threads = 1", ["PRAGMA threads changes settings"]),
    "pragma_state": (
        "PRAGMA enable_profiling",
        ["PRAGMA enable_profiling is not one that only reports"],
    ),
    "install": ("INSTALL httpfs", ["INSTALL downloads and installs extensions"]),
    "force_install": ("FORCE INSTALL httpfs", ["FORCE INSTALL downloads and installs extensions"]),
    "load": ("LOAD httpfs", ["LOAD loads extensions"]),
    "create_table": ("CREATE TABLE t AS SELECT 1 AS a", ["CREATE creates objects"]),
    "create_temp_table": ("CREATE TEMP TABLE t AS SELECT 1 AS a", ["CREATE creates objects"]),
    "insert": (
        "INSERT INTO catalog_settings SELECT * FROM catalog_settings",
        ["INSERT changes tables"],
    ),
    "export": ("EXPORT DATABASE '{out}/exported'", ["EXPORT writes files"]),
    "checkpoint": ("CHECKPOINT", ["CHECKPOINT writes the database"]),
    "use": ("USE memory", ["USE changes the current database"]),
    "explain_analyze_copy": (
        "EXPLAIN ANALYZE COPY (SELECT 1 AS a) TO '{out}/explained.csv'",
        ["COPY writes files"],
    ),
    "read_then_write": (
        "SELECT count(*) FROM manifest; COPY manifest TO '{tmp}/m.csv'",
        ["COPY writes files"],
    ),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_cli_sql_refuses_and_changes_nothing(catalogued, tmp_path, name):
    out, _ = catalogued
    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("CREATE TABLE t AS SELECT 42 AS answer")
    statement, reasons = REFUSED[name]
    before, files, other_bytes = counts(out), listing(out), other.read_bytes()

    code, stdout, stderr = run_cli(
        "sql", "--out", str(out), statement.format(out=out, tmp=tmp_path)
    )

    assert code == 2
    assert stderr.splitlines() == [f"reelcat: refused: {r}; {ONLY_READS}" for r in reasons]
    assert stdout == ""  # nothing ran, not even the reads before a refused statement
    assert listing(out) == files and counts(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.duckdb"]
    assert other.read_bytes() == other_bytes
    with duckdb.connect(str(other), read_only=True) as con:
        assert con.execute("SELECT answer FROM t").fetchall() == [(42,)]


@pytest.mark.parametrize(
    "query, path",
    [
        ("SELECT * FROM read_text('/etc/passwd')", "/etc/passwd"),
        ("SELECT * FROM read_csv('/etc/passwd', sep = ':')", "/etc/passwd"),
        ("SELECT * FROM glob('/etc/*')", "/etc/*"),
        ("SELECT * FROM read_text('{out}/../outside.txt')", "{out}/../outside.txt"),
        ("SELECT * FROM read_parquet('manifest.parquet')", "manifest.parquet"),  # cwd-relative
    ],
    ids=["read_text", "read_csv", "glob", "dot_dot", "relative"],
)
def test_cli_sql_reads_nothing_outside_the_output_folder(catalogued, query, path):
    out, _ = catalogued
    (out.parent / "outside.txt").write_text("a secret\n")
    files = listing(out)
    code, stdout, stderr = run_cli("sql", "--out", str(out), query.format(out=out))
    assert code == 2
    assert stderr.splitlines() == [f"reelcat: refused: {outside_folder(path.format(out=out), out)}"]
    assert "root:" not in stdout and "secret" not in stdout
    assert listing(out) == files


def test_cli_sql_refuses_a_setting_changed_by_a_function(catalogued):
    out, _ = catalogued
    files = listing(out)
    code, _, stderr = run_cli(
        "sql",
        "--out",
        str(out),
        f"SELECT * FROM enable_logging(storage := 'file', storage_path := '{out}/logs')",
    )
    assert code == 2
    assert stderr.splitlines() == [
        f"reelcat: refused: the query changes the setting enable_logging; {ONLY_READS}"
    ]
    assert listing(out) == files


@pytest.mark.parametrize(
    "query, shown",
    [
        ("SELECT file_name, about FROM video_summaries ORDER BY file_name", "testsrc.mp4"),
        ("DESCRIBE video_summaries", "top_tags"),
        ("SHOW TABLES", "video_summaries"),
        ("SUMMARIZE manifest", "video_id"),
        ("PRAGMA table_info('manifest')", "duration"),
        ("EXPLAIN SELECT * FROM frames", "READ_PARQUET"),
        ("EXPLAIN ANALYZE SELECT count(*) FROM frames", "analyzed_plan"),
        ("SELECT count(*) AS files FROM read_parquet('{out}/manifest.parquet')", "6"),
        ("SELECT * FROM video_summary('testsrc.mp4')", "testsrc.mp4"),
        ("SELECT 1 AS one; SELECT file_name FROM video_names ORDER BY 1", "red.webm"),
    ],
    ids=[
        "select",
        "describe",
        "show",
        "summarize",
        "pragma",
        "explain",
        "explain_analyze",
        "full_path",
        "macro",
        "two_selects",
    ],
)
def test_cli_sql_still_reads(catalogued, query, shown):
    out, _ = catalogued
    files = listing(out)
    code, stdout, stderr = run_cli("sql", "--out", str(out), query.format(out=out))
    assert code == 0, stderr
    assert shown in stdout and stderr == ""
    assert listing(out) == files


@pytest.mark.parametrize("opener", ["open_catalog", "web"])
def test_reader_connections_are_fenced(catalogued, tmp_path, opener):
    """The connection every reader gets (the CLI's, the review page's), not only `sql`."""
    out, _ = catalogued
    files = listing(out)
    if opener == "web":
        with open_catalogue(Layout(out)) as con:
            _fenced(con, out, tmp_path)
    else:
        con = open_catalog(out)
        try:
            _fenced(con, out, tmp_path)
        finally:
            con.close()
    assert listing(out) == files
    assert list(tmp_path.iterdir()) == []


def _fenced(con: duckdb.DuckDBPyConnection, out: Path, tmp_path: Path) -> None:
    # the catalogue's views work, through absolute paths inside the output folder
    assert con.execute("SELECT count(*) FROM video_summaries").fetchone()[0] == 6
    ((manifest,),) = con.execute("SELECT manifest_path()").fetchall()
    assert manifest == str(out.resolve() / "manifest.parquet")
    settings = dict(
        con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', "
            "'lock_configuration', 'autoinstall_known_extensions', 'autoload_known_extensions')"
        ).fetchall()
    )
    assert settings == {
        "enable_external_access": "false",
        "lock_configuration": "true",
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
    }
    with pytest.raises(duckdb.InvalidInputException, match="locked"):
        con.execute("SET threads = 1")
    with pytest.raises(duckdb.InvalidInputException, match="locked"):
        con.execute("SET enable_external_access = true")
    with pytest.raises(duckdb.PermissionException):
        con.execute("SELECT * FROM read_text('/etc/passwd')").fetchall()
    with pytest.raises(duckdb.PermissionException):
        con.execute(f"COPY (SELECT 1 AS a) TO '{tmp_path}/x.parquet'")
    with pytest.raises(duckdb.PermissionException):
        con.execute(f"ATTACH '{tmp_path}/other.duckdb' AS other")
    with pytest.raises(duckdb.PermissionException):
        con.execute("INSTALL httpfs")
    with pytest.raises(duckdb.Error, match="read-only"):
        con.execute("DROP TABLE tag_frequencies")


def test_only_reading_statements_pass_the_check():
    con = duckdb.connect()
    for query in (
        "SELECT 1",
        "FROM range(3)",
        "WITH x AS (SELECT 1) SELECT * FROM x",
        "DESCRIBE SELECT 1",
        "EXPLAIN SELECT 1",
        "EXPLAIN (FORMAT json) SELECT 1",
        "PRAGMA version",
        "PRAGMA table_info('t')",
    ):
        assert len(read_statements(con, query)) == 1, query
    for query in (
        "EXPLAIN /* c */ ANALYZE -- c\n INSERT INTO t VALUES (1)",
        "EXPLAIN ANALYZE (FORMAT json) COPY t TO 'x.csv'",
        "UPDATE EXTENSIONS",
        "SET VARIABLE x = 1",
        "CALL pragma_version()",
        "PREPARE p AS SELECT 1",
        "EXECUTE p",
        "BEGIN",
        "PIVOT t ON a",
        "COPY FROM DATABASE a TO b",
        "IMPORT DATABASE 'x'",
        "VACUUM",
        "MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE",
        "CREATE SECRET (TYPE s3)",
        "ALTER TABLE t ADD COLUMN b INT",
    ):
        with pytest.raises(Refused) as refused:
            read_statements(con, query)
        assert len(refused.value.reasons) == 1, query
        assert refused.value.reasons[0].endswith(ONLY_READS), query


def test_any_duckdb_client_opens_the_catalogue_from_any_folder(catalogued):
    out, _ = catalogued
    code = (
        f"import duckdb; con = duckdb.connect({str(out / 'catalog.duckdb')!r}, read_only=True); "
        "print(con.execute('SELECT count(*) FROM frames').fetchone()[0], "
        "con.execute('SELECT count(*) FROM video_summaries').fetchone()[0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd="/", capture_output=True, text=True, check=True
    )
    frames, videos = map(int, done.stdout.split())
    con = open_catalog(out)
    try:
        assert frames == con.execute("SELECT count(*) FROM frames").fetchone()[0] > 0
        assert videos == con.execute("SELECT count(*) FROM video_summaries").fetchone()[0]
    finally:
        con.close()


def test_a_moved_output_folder_still_opens_through_reelcat(catalogued, tmp_path):
    out, _ = catalogued
    shutil.copytree(out, tmp_path / "before")
    moved = (tmp_path / "before").rename(tmp_path / "after")
    con = open_catalog(moved)
    try:
        (frames,) = con.execute("SELECT count(*) FROM frames").fetchone()
        (path,) = con.execute("SELECT frames_path()").fetchone()
    finally:
        con.close()
    assert frames > 0 and path.startswith(str(moved.resolve()))
