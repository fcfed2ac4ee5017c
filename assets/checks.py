"""Asset checks: what each asset that holds data must satisfy, run after it materialises
and shown in the UI (each asset's Checks tab, the run's timeline).

Each check reads the store through DuckDB (reelcat.tagging.scores.open_archive) and
touches only narrow columns (ids, statuses, scores; never embeddings or thumbnails), plus
the Parquet footer of the newest file for the schema. A failed check is a warning in the
UI, not a failed run: the data stays, and the check's metadata says what is wrong.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from assets.resources import ReelcatSettings
from reelcat.config import Config, model_id
from reelcat.storage import schemas
from reelcat.storage.layout import Layout
from reelcat.tagging.scores import open_archive
from reelcat.tagging.vocabulary import load_vocabulary


def _schema_problems(path: Path | None, schema: pa.Schema, what: str | None = None) -> list[str]:
    """How the file at `path` differs from `schema` (columns missing or of another type),
    each problem starting with `what` (the file's name unless given)."""
    what = what or (path.name if path else "?")
    if path is None or not path.exists():
        return [f"{what}: no file"]
    found = pq.read_schema(path)
    problems = []
    for field in schema:
        if field.name not in found.names:
            problems.append(f"{what}: column {field.name} missing")
        elif not found.field(field.name).type.equals(field.type):
            problems.append(
                f"{what}: column {field.name} is {found.field(field.name).type}, not {field.type}"
            )
    return problems


def _newest(folder: Path) -> Path | None:
    files = Layout.batch_files(folder)
    return files[-1] if files else None


def _count(con: duckdb.DuckDBPyConnection, query: str) -> int:
    return int(con.execute(query).fetchone()[0])


def _result(problems: list[str], **metadata) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={**metadata, "problems": "\n".join(problems) or "none"},
        description=problems[0] if problems else None,
    )


def _checked(settings: ReelcatSettings, results: bool = False):
    cfg = settings.load()
    return cfg, Layout(cfg.output_dir), open_archive(cfg, results=results)


@dg.asset_check(
    asset="video_manifest",
    description="The manifest's schema; every row ok, error or missing; every error row "
    "says why; every catalogued row has a video id.",
)
def manifest_is_consistent(settings: ReelcatSettings) -> dg.AssetCheckResult:
    _, layout, con = _checked(settings)
    problems = _schema_problems(layout.manifest, schemas.MANIFEST)
    counts = dict(con.execute("SELECT status, count(*) FROM manifest GROUP BY 1").fetchall())
    if set(counts) - {"ok", "error", "missing"}:
        problems.append(f"unknown statuses: {sorted(set(counts) - {'ok', 'error', 'missing'})}")
    silent = _count(con, "SELECT count(*) FROM manifest WHERE status = 'error' AND error IS NULL")
    if silent:
        problems.append(f"{silent} error rows without a reason")
    nameless = _count(con, "SELECT count(*) FROM manifest WHERE catalogued AND video_id IS NULL")
    if nameless:
        problems.append(f"{nameless} catalogued rows without a video id")
    return _result(problems, **{f"{status} files": n for status, n in counts.items()})


@dg.asset_check(
    asset="video_frames",
    description="The frames' schema; every video the manifest says is ok has frames, or "
    "a row in frame_errors saying why it has none.",
)
def every_ok_video_has_frames(settings: ReelcatSettings) -> dg.AssetCheckResult:
    cfg, layout, con = _checked(settings)
    folder = layout.frames_dir(model_id(cfg.model), cfg.sampling.id)
    problems = _schema_problems(_newest(folder), schemas.FRAMES, "newest frames batch")
    unexplained = con.execute(
        "SELECT m.file_name FROM manifest m WHERE m.status = 'ok' "
        "AND m.video_id NOT IN (SELECT DISTINCT video_id FROM frames) "
        "AND m.video_id NOT IN (SELECT video_id FROM frame_errors) ORDER BY 1"
    ).fetchall()
    if unexplained:
        names = ", ".join(n for (n,) in unexplained[:5])
        problems.append(f"{len(unexplained)} ok videos without frames or a reason: {names}")
    videos = _count(con, "SELECT count(DISTINCT video_id) FROM frames")
    return _result(problems, **{"videos with frames": videos})


@dg.asset_check(
    asset="frame_index",
    description="The search index holds every frames batch.",
)
def index_holds_every_frames_batch(settings: ReelcatSettings) -> dg.AssetCheckResult:
    from reelcat.search.index import indexed_batches

    cfg = settings.load()
    layout, mid = Layout(cfg.output_dir), model_id(cfg.model)
    batches = {p.name for p in Layout.batch_files(layout.frames_dir(mid, cfg.sampling.id))}
    indexed = {row["batch"] for row in indexed_batches(layout, mid, cfg.sampling.id)}
    missing = sorted(batches - indexed)
    problems = [f"{len(missing)} frames batches not indexed: {missing[:3]}"] if missing else []
    return _result(problems, **{"indexed batches": len(indexed)})


@dg.asset_check(
    asset="tag_thresholds",
    description="Every tag of the vocabulary has accept and review levels, numbers, "
    "review at or below accept.",
)
def thresholds_cover_the_vocabulary(settings: ReelcatSettings) -> dg.AssetCheckResult:
    cfg, layout, con = _checked(settings)
    problems = _schema_problems(layout.thresholds, schemas.THRESHOLDS)
    tags = {t.name for t in load_vocabulary(cfg.vocabulary).tags}
    rows = con.execute("SELECT tag, accept, review FROM read_parquet(thresholds_path())").fetchall()
    missing = sorted(tags - {tag for tag, _, _ in rows})
    if missing:
        problems.append(f"{len(missing)} tags without thresholds: {missing[:5]}")
    bad = [tag for tag, a, r in rows if a is None or r is None or a != a or r != r or r > a]
    if bad:
        problems.append(f"{len(bad)} tags whose levels are not numbers or review > accept")
    return _result(problems, tags=len(rows))


@dg.asset_check(
    asset="frame_tags",
    description="The tag scores' schema; every score a number; every video with frames has scores.",
)
def scores_are_numbers(settings: ReelcatSettings) -> dg.AssetCheckResult:
    cfg, layout, con = _checked(settings)
    vocab = load_vocabulary(cfg.vocabulary)
    folder = layout.tags_dir(model_id(cfg.model), vocab.id)
    problems = _schema_problems(_newest(folder), schemas.FRAME_TAGS, "newest tags batch")
    # (as an aggregate's FILTER: DuckDB 2.0.1 folds `WHERE isnan(score)` to false from
    # the Parquet statistics, which pyarrow writes without NaN)
    nan = _count(
        con,
        "SELECT count(*) FILTER (WHERE score IS NULL OR isnan(score) "
        "OR cosine IS NULL OR isnan(cosine)) FROM frame_tags",
    )
    if nan:
        problems.append(f"{nan} scores that are not numbers")
    unscored = _count(
        con,
        "SELECT count(*) FROM (SELECT DISTINCT video_id FROM frames "
        "EXCEPT SELECT DISTINCT video_id FROM frame_tags)",
    )
    if unscored:
        problems.append(f"{unscored} videos with frames but no scores")
    return _result(problems, **{"scores": _count(con, "SELECT count(*) FROM frame_tags")})


def _one_row_per_video(cfg: Config, path: Path, what: str) -> list[str]:
    """Problems unless `path` (a per-video table) has one row per catalogued video."""
    con = open_archive(cfg)
    con.read_parquet(str(path)).create_view("t")
    problems = []
    doubled = _count(con, "SELECT count(*) - count(DISTINCT video_id) FROM t")
    if doubled:
        problems.append(f"{what}: {doubled} videos with more than one row")
    missing = _count(
        con,
        "SELECT count(DISTINCT video_id) FROM manifest WHERE catalogued "
        "AND video_id NOT IN (SELECT video_id FROM frame_errors) "
        "AND video_id NOT IN (SELECT video_id FROM t)",
    )
    if missing:
        problems.append(f"{what}: {missing} catalogued videos without a row")
    return problems


def _per_video_check(asset: str, table: str, schema: pa.Schema, description: str):
    """A check that the archive-wide table `table` (a Layout property) has its schema and
    one row per catalogued video."""

    @dg.asset_check(asset=asset, name=f"one_{table}_row_per_video", description=description)
    def check(settings: ReelcatSettings) -> dg.AssetCheckResult:
        cfg = settings.load()
        path = getattr(Layout(cfg.output_dir), table)
        problems = _schema_problems(path, schema, table)
        if path.exists():
            problems += _one_row_per_video(cfg, path, table)
        return _result(problems)

    return check


one_summary_per_video = _per_video_check(
    "video_summaries",
    "video_summaries",
    schemas.SUMMARIES,
    "The summaries' schema; one summary per catalogued video.",
)
one_decision_per_video = _per_video_check(
    "video_risk",
    "video_risk",
    schemas.VIDEO_RISK,
    "The review queue's schema; one decision per catalogued video that decoded.",
)


@dg.asset_check(
    asset="catalog",
    description="The catalogue opens read-only (as `reelcat sql` and the review page open "
    "it), its tables answer, and a statement that writes is refused.",
)
def catalogue_opens_read_only(settings: ReelcatSettings) -> dg.AssetCheckResult:
    from catalog.build import open_catalog
    from reelcat.storage.readonly import Refused, read_statements

    cfg = settings.load()
    con = open_catalog(cfg.output_dir)
    try:
        problems = []
        videos = _count(con, "SELECT count(*) FROM video_summaries")
        frames = _count(con, "SELECT count(*) FROM frames")
        try:
            read_statements(con, "CREATE TABLE t AS SELECT 1")
            problems.append("a CREATE TABLE was not refused")
        except Refused:
            pass
    finally:
        con.close()
    return _result(problems, videos=videos, frames=frames)


def _schema_check(asset: str, table: str, file_of, schema: pa.Schema):
    """A check that the newest file of `asset` (`file_of(cfg, layout)`) has its schema."""

    @dg.asset_check(asset=asset, name=f"{asset}_schema", description=f"The {table} schema.")
    def check(settings: ReelcatSettings) -> dg.AssetCheckResult:
        cfg = settings.load()
        return _result(_schema_problems(file_of(cfg, Layout(cfg.output_dir)), schema, table))

    return check


def _results_file(table: str):
    """The newest batch of a per-video results table (reelcat.storage.layout)."""

    def newest(cfg: Config, layout: Layout) -> Path | None:
        from reelcat.tagging.scores import results_key

        key = results_key(cfg, load_vocabulary(cfg.vocabulary))
        return _newest(layout.results_dir(key, table))

    return newest


SCHEMA_CHECKS = [
    _schema_check(
        "tag_adaptations",
        "learning_changes",
        lambda cfg, layout: layout.learning_changes,
        schemas.LEARNING_CHANGES,
    ),
    _schema_check("tag_segments", "segments", _results_file("segments"), schemas.SEGMENTS),
    _schema_check(
        "video_tags", "video_tags", lambda cfg, layout: layout.video_tags, schemas.VIDEO_TAGS
    ),
    _schema_check(
        "moderation_timeline",
        "moderation_timeline",
        _results_file("moderation_timeline"),
        schemas.MODERATION_TIMELINE,
    ),
    _schema_check(
        "moderation_segments",
        "moderation_segments",
        _results_file("moderation_segments"),
        schemas.MODERATION_SEGMENTS,
    ),
]

CHECKS = [
    *SCHEMA_CHECKS,
    manifest_is_consistent,
    every_ok_video_has_frames,
    index_holds_every_frames_batch,
    thresholds_cover_the_vocabulary,
    scores_are_numbers,
    one_summary_per_video,
    one_decision_per_video,
    catalogue_opens_read_only,
]
