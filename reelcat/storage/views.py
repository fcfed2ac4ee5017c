"""The Parquet store as DuckDB views, defined once for every reader.

The base views (`manifest`, `frame_errors`, `video_names`, `frames`, `frame_tags`, `verdicts`,
`verdicts_effective`, `frame_verdicts`, `named_groups`) and the rules they carry live in
`reelcat/storage/sql/*.sql`; `results_<table>` are the per-video results of the current
videos (reelcat.storage.results). Python readers get them on an in-memory connection
(`open_store`); the catalogue defines the very same views in its file
(`catalog/build.py`), so Python and SQL cannot disagree on, for example, which answer
wins on a frame.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from reelcat.storage.layout import GENESIS, RESULT_TABLES, Layout
from reelcat.storage.parquet import write_table
from reelcat.storage.schemas import (
    CONCEPTS,
    FRAME_ERRORS,
    FRAME_TAGS,
    FRAMES,
    MANIFEST,
    MODERATION_SEGMENTS,
    MODERATION_TIMELINE,
    NAMED_GROUPS,
    SEGMENTS,
    TAG_STATS,
    VERDICTS,
    VIDEO_DECISIONS,
    VIDEO_FRAMES,
)

SQL_DIR = Path(__file__).resolve().parent / "sql"
BASE_VIEWS = """manifest frame_errors frame_damage video_names frames frame_tags verdicts
    verdicts_effective frame_verdicts named_groups taught_concepts concepts""".split()  # in order


RESULT_SCHEMAS = {
    "segments": SEGMENTS,
    "tag_stats": TAG_STATS,
    "video_frames": VIDEO_FRAMES,
    "moderation_timeline": MODERATION_TIMELINE,
    "moderation_segments": MODERATION_SEGMENTS,
    "video_decisions": VIDEO_DECISIONS,
}
assert set(RESULT_SCHEMAS) == set(RESULT_TABLES)


def sql(name: str, folder: Path = SQL_DIR) -> str:
    """The statement in `folder`/`name`.sql (reelcat's views by default)."""
    return (folder / f"{name}.sql").read_text()


def ensure_logs(layout: Layout) -> None:
    """The append-only logs' first, empty files, so views over them always bind (the
    catalogue's views stay live over answers given after it was built)."""
    for folder, schema in (
        (layout.verdicts_dir, VERDICTS),
        (layout.named_groups_dir, NAMED_GROUPS),
    ):
        if not (folder / GENESIS).exists():
            write_table(schema.empty_table(), folder / GENESIS, schema)


def _stand_ins(
    layout: Layout, model_id: str, sampling_id: str, vocabulary_id: str
) -> dict[str, tuple[bool, pa.Schema]]:
    """view -> (its files exist, schema of the empty table that stands in otherwise)."""

    def has_files(folder: Path) -> bool:
        return folder.is_dir() and any(folder.glob("*.parquet"))

    manifest = MANIFEST.append(pa.field("file_name", pa.string())).append(
        pa.field("catalogued", pa.bool_())
    )
    return {
        "manifest": (layout.manifest.exists(), manifest),
        "frame_errors": (layout.frame_errors.exists(), FRAME_ERRORS),
        "frames": (bool(Layout.batch_files(layout.frames_dir(model_id, sampling_id))), FRAMES),
        "frame_tags": (
            bool(Layout.batch_files(layout.tags_dir(model_id, vocabulary_id))),
            FRAME_TAGS,
        ),
        "verdicts": (
            has_files(layout.verdicts_dir),
            VERDICTS.append(pa.field("file_name", pa.string())),
        ),
        "named_groups": (has_files(layout.named_groups_dir), NAMED_GROUPS),
        "taught_concepts": (layout.concepts.exists(), CONCEPTS),
        "frame_damage": (layout.frame_damage(model_id, sampling_id).exists(), FRAME_ERRORS),
    }


def define_views(
    con: duckdb.DuckDBPyConnection,
    layout: Layout,
    *,
    model_id: str,
    sampling_id: str,
    vocabulary_id: str,
    results_key: str = "none",
    absolute_paths: bool = False,
) -> None:
    """Create the path macros and base views on `con`; a view whose files do not exist
    yet is an empty table of the right shape instead of an error."""
    con.execute("SET file_search_path = ?", [str(layout.out.resolve())])
    for macro in layout.sql_macros(
        model_id, sampling_id, vocabulary_id, results_key, absolute=absolute_paths
    ):
        con.execute(macro)
    stand_ins = _stand_ins(layout, model_id, sampling_id, vocabulary_id)
    for name in BASE_VIEWS:
        exists, schema = stand_ins.get(name, (True, None))
        if exists:
            con.execute(sql(name))
        else:
            _empty(con, name, schema)
    define_result_views(con, layout, results_key)


def define_result_views(con: duckdb.DuckDBPyConnection, layout: Layout, results_key: str) -> None:
    """`results_<table>`: the per-video results under the key (reelcat.storage.results)
    of the archive's current videos (call again after a step wrote new files)."""
    for table, schema in RESULT_SCHEMAS.items():
        _drop(con, f"results_{table}")  # the view, or the empty stand-in, made before
        if Layout.batch_files(layout.results_dir(results_key, table)):
            con.execute(
                f"CREATE OR REPLACE VIEW results_{table} AS SELECT * FROM "
                f"read_parquet({table}_path()) WHERE video_id IN "
                "(SELECT video_id FROM manifest WHERE catalogued)"
            )
        else:
            _empty(con, f"results_{table}", schema)


def _drop(con: duckdb.DuckDBPyConnection, name: str) -> None:
    for (kind,) in con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchall():
        con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} {name}")


def _empty(con: duckdb.DuckDBPyConnection, name: str, schema: pa.Schema) -> None:
    """An empty table of the right shape where a view's files do not exist yet."""
    con.register("empty_rows", schema.empty_table())
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM empty_rows")
    con.unregister("empty_rows")


def open_store(
    layout: Layout,
    *,
    model_id: str,
    sampling_id: str,
    vocabulary_id: str,
    results_key: str = "none",
    database: str = ":memory:",
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection (a private in-memory one unless `database` names a file: the
    catalogue's build, whose views name files by absolute path so that any DuckDB client
    opens it from any folder) with the base views over the store."""
    con = duckdb.connect(database)
    define_views(
        con,
        layout,
        model_id=model_id,
        sampling_id=sampling_id,
        vocabulary_id=vocabulary_id,
        results_key=results_key,
        absolute_paths=database != ":memory:",
    )
    return con


def video_file_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """video_id -> display name, from the `video_names` view."""
    return dict(con.execute("SELECT video_id, file_name FROM video_names").fetchall())


def dict_rows(
    con: duckdb.DuckDBPyConnection, query: str, params: list | dict | None = None
) -> list[dict]:
    """A query's rows as dicts (for the few small reads that want them)."""
    cur = con.execute(query, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def embeddings(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A list<float> Arrow column (stored embeddings) as an (n, dim) float32 array."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not len(column):
        return np.zeros((0, 1), np.float32)
    flat = np.asarray(column.flatten().to_numpy(zero_copy_only=False), np.float32)
    return flat.reshape(len(column), -1)
