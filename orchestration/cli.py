"""The `reelcat` command line.

    reelcat run [--config FILE] [--archive DIR ...] [--out DIR]   catalogue an archive
    reelcat about VIDEO          what a video is about, with a timeline per top tag
    reelcat sql "QUERY"          read-only SQL on the catalogue
    reelcat tags                 the vocabulary with document frequency and thresholds
    reelcat search "TEXT"        frames that look like the text
    reelcat review-queue         videos that need review, riskiest first, with time ranges
    reelcat heatmap --png FILE   the archive severity heat map as a PNG (writes nothing else)
    reelcat review               answer "is this X?" questions in the terminal
    reelcat verdicts             the answers given, newest first; --undo ID, --undo-since T
    reelcat serve                the review web page on 127.0.0.1
    reelcat groups / name-group  name recurring look-alike frames: a new tag
    reelcat teach NAME FILE@S …  a new tag from a few example frames
    reelcat synth --videos N --seed S --out DIR   a labelled synthetic archive

It lives beside the Dagster wiring because `run` materialises the asset graph through
Dagster's API; the other commands only read the catalogue.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import shlex
import sys
import time
from pathlib import Path

from orchestration.result_tables import SQL_FORMATS, result_text
from orchestration.run_progress import EMBED_STEP, RunProgress, clock, progress_display
from orchestration.terminal_pictures import draw_picture, picture_file, read_key
from reelcat.config import Config, ConfigError, load_config
from reelcat.feedback.verdicts import VerdictError
from reelcat.storage.layout import CATALOG, Layout
from reelcat.storage.mirror import Mirror
from reelcat.storage.parquet import write_bytes_atomic
from reelcat.storage.remote import absolute_root

BLOCKS = " ▁▂▃▄▅▆▇█"
SHOWN = 50  # rows a command prints before it says how many more there are


def _config(args: argparse.Namespace, pull: str | None = "") -> Config:
    """The configuration with the command's flags; for an output in object storage, this
    machine's mirror brought up to date first (`pull`: the relative paths starting with
    it; None: nothing, a run pulls in its own setup). Commands that write publish what
    they wrote when they end (`main`)."""
    overrides: dict = {}
    if getattr(args, "archive", None):
        overrides["archive_roots"] = [absolute_root(p) for p in args.archive]
    if getattr(args, "out", None):
        overrides["output_dir"] = absolute_root(args.out)
    model: dict = {}
    if getattr(args, "random_weights", False):
        model["random_weights"] = True
    if getattr(args, "model", None):
        model["name"] = args.model
    if getattr(args, "pretrained", None):
        model["pretrained"] = args.pretrained
    if model:
        overrides["model"] = model
    if getattr(args, "sampling", None):
        overrides["sampling"] = {"mode": args.sampling}
    cfg = load_config(args.config, overrides=overrides)
    args.loaded_config = cfg
    if cfg.output_url and pull is not None:
        Mirror(cfg.output_url, cfg.output_dir).pull(pull)
    return cfg


# --- `reelcat run`: progress while it runs, a summary when it ends ---------------------

RUN_JOB = "reelcat_run"  # the job name `reelcat run` records in a Dagster instance


def cmd_run(args: argparse.Namespace) -> int:
    """Materialise every asset in this process, with progress on stderr while it runs and
    a summary on stdout when it ends."""
    import dagster as dg

    from assets.resources import RayResource, ReelcatSettings
    from orchestration.definitions import ALL_ASSETS
    from orchestration.jobs import output_tag

    if args.own_process:
        gc.freeze()  # see `console`: the modules just imported are never garbage
    cfg = _config(args, pull=None)
    if not cfg.archive_roots:
        raise ConfigError("no archive roots: pass --archive DIR or set archive_roots")
    from reelcat.config import model_id
    from reelcat.preflight import check_before_run

    check_before_run(cfg)  # one line and exit 2 before anything starts

    print(f"reelcat: cataloguing {', '.join(map(str, cfg.archive_roots))} -> {cfg.output}")
    print(
        f"reelcat: model {model_id(cfg.model)}"
        + (
            "  [RANDOM WEIGHTS: for throughput measurement only]"
            if cfg.model.random_weights
            else ""
        ),
        flush=True,
    )
    settings = ReelcatSettings(
        config_file=str(Path(args.config).resolve()) if args.config else None,
        archive_roots=[str(p) for p in cfg.archive_roots],
        output_dir=str(cfg.output),
        random_weights=cfg.model.random_weights or None,
        model_name=cfg.model.name,
        model_pretrained=cfg.model.pretrained,
        sampling_mode=cfg.sampling.mode,
        accept_missing_roots=args.accept_missing_roots or None,
    )
    # With DAGSTER_HOME set the run is recorded in that Dagster instance: the UI lists it,
    # and the instance's run queue holds runs tagged with this output folder until it
    # ends (it does not wait in the queue itself: the folder's lock orders it after a run
    # already writing there). Without, an ephemeral instance, as before.
    home = os.environ.get("DAGSTER_HOME")
    try:
        instance = dg.DagsterInstance.get() if home else None
    except Exception as exc:  # its dagster.yaml, a storage package, the database: one line
        said = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"DAGSTER_HOME={home}: the Dagster instance does not load: {said}"
        ) from None
    display = progress_display()
    checks = {a.node_def.name for a in ALL_ASSETS if isinstance(a, dg.AssetChecksDefinition)}
    progress = RunProgress(display, checks, lambda: _videos_to_embed(cfg))
    started = time.perf_counter()
    try:
        with display:
            result = _materialize(
                ALL_ASSETS,
                {"settings": settings, "ray_cluster": RayResource()},
                progress,
                instance=instance,
                tags=output_tag(cfg.output),
                debug=args.debug,
            )
    finally:
        if instance is not None:
            instance.dispose()
    seconds = time.perf_counter() - started
    if not result.success:
        _say_step_failures(result)
        for line in _failed_checks(result):
            print(f"  {line}", file=sys.stderr)
        return 1
    print("\n".join(_run_summary(cfg, args, result, progress, seconds)))
    return 0


def _materialize(
    assets: list, resources: dict, progress: logging.Handler, *, instance, tags: dict, debug: bool
):
    """Every asset materialised in this process as Dagster's `materialize` does, with
    `progress` as a logger of the run; Dagster's own console log (at INFO) only with
    --debug."""
    import dagster as dg

    def progress_logger(_context) -> logging.Logger:
        logger = logging.Logger("reelcat.run", logging.DEBUG)
        logger.addHandler(progress)
        return logger

    defs = dg.Definitions(
        assets=assets,
        jobs=[dg.define_asset_job(RUN_JOB)],
        resources=resources,
        loggers={
            "progress": dg.LoggerDefinition(progress_logger),
            "console": dg.colored_console_logger,
        },
    )
    loggers: dict = {"progress": {}}
    if debug:
        loggers["console"] = {"config": {"log_level": "INFO"}}
    return defs.resolve_job_def(RUN_JOB).execute_in_process(
        run_config={"loggers": loggers}, instance=instance, tags=tags, raise_on_error=False
    )


def _videos_to_embed(cfg: Config) -> int:
    """How many videos the embedding step is about to embed: the step's own query
    (reelcat.ingest.step.videos_to_embed) on the manifest the step before it wrote."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from reelcat.config import model_id
    from reelcat.ingest.step import videos_to_embed

    layout = Layout(cfg.output_dir)
    manifest = pq.read_table(layout.manifest, columns=["video_id", "path", "duration", "status"])
    good = manifest.filter(pc.equal(manifest["status"], "ok"))
    return len(videos_to_embed(good, layout.frames_dir(model_id(cfg.model), cfg.sampling.id)))


def _say_step_failures(result) -> None:
    """One line on stderr per failed step, saying the error's cause."""
    for event in result.all_events:
        if event.is_step_failure:
            error = event.event_specific_data.error
            while error.cause is not None:  # Dagster's wrapper: say the cause
                error = error.cause
            # "package.module.Class: message" -> the message (and the class when it
            # is not one of reelcat's own, which say everything in their message)
            name, _, said = error.message.strip().partition(": ")
            if not name.startswith("reelcat."):
                said = f"{name.rsplit('.', 1)[-1]}: {said}" if said else name
            print(f"reelcat: step {event.step_key} failed: {said}", file=sys.stderr)


def _failed_checks(result) -> list[str]:
    """A line per asset check that failed (assets/checks.py): which, on what, and why."""
    return [
        f"check {e.check_name} on {e.asset_key.to_user_string()} failed: "
        + (e.description or "its metadata in the Dagster UI says why")
        for e in result.get_asset_check_evaluations()
        if not e.passed
    ]


def _materialized(result) -> dict[str, dict]:
    """Each materialised asset's metadata values, by asset name."""
    said: dict[str, dict] = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        said[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
    return said


def _video_lines(cfg: Config) -> tuple[list[str], str | None]:
    """Each catalogued video's one-line summary (the first SHOWN of them), and the first
    video's name."""
    from catalog.build import open_catalog

    con = open_catalog(cfg.output_dir)
    ((files,),) = con.execute("SELECT count(*) FROM video_summaries").fetchall()
    listed = con.execute(
        "SELECT file_name, about FROM video_summaries ORDER BY file_name LIMIT ?", [SHOWN]
    ).fetchall()
    con.close()
    lines = [f"  {name:<28} {about}" for name, about in listed]
    if files > SHOWN:
        lines.append(f"  ... and {files - SHOWN:,} more (the reelcat sql below lists them)")
    return lines, listed[0][0] if listed else None


def _run_summary(cfg: Config, args, result, progress: RunProgress, seconds: float) -> list[str]:
    """What the run did, after each video's summary: the videos and frames catalogued,
    what could not be read, the videos to review, failed checks, where the catalogue is,
    and what to try next."""
    said = _materialized(result)
    manifest, frames = said.get("video_manifest", {}), said.get("video_frames", {})
    videos, first = _video_lines(cfg)
    lines = [
        *videos,
        "",
        f"reelcat: catalogued {manifest.get('videos', 0)} videos in {clock(seconds)} "
        f"({frames.get('videos_embedded', 0)} new, "
        f"{frames.get('videos_skipped_unchanged', 0)} unchanged"
        + (f", {manifest['missing_kept']} missing, kept" if manifest.get("missing_kept") else "")
        + ")",
        f"  {said.get('catalog', {}).get('frames', 0):,} frames, "
        f"{frames.get('frames_new', 0):,} of them new"
        + (
            f" ({progress.frames / progress.seconds[EMBED_STEP]:.1f} frames/s)"
            if progress.frames and progress.seconds.get(EMBED_STEP)
            else ""
        ),
    ]
    unread = manifest.get("errors", 0) + frames.get("videos_failed", 0)
    if unread:
        lines.append(
            f'  {unread} files could not be read: reelcat sql "select path, error from '
            "manifest where status = 'error' union all select path, error from frame_errors\""
        )
    to_review = said.get("video_risk", {}).get("videos_to_review", 0)
    if to_review:
        lines.append(f"  {to_review} videos need a reviewer")
    failed = _failed_checks(result)
    lines += [f"  {line}" for line in failed]
    if progress.passed and not failed:
        lines.append(f"  all {progress.passed} checks passed")
    lines.append(f"  catalogue: {str(cfg.output).rstrip('/')}/{CATALOG}")
    return lines + _next_commands(args, first, to_review)


def _next_commands(args, video: str | None, to_review: int) -> list[str]:
    """The commands to try next, with this run's --config and --out."""
    where = "".join(
        f" {flag} {shlex.quote(value)}"
        for flag, value in (("--config", args.config), ("--out", args.out))
        if value
    )
    commands = [
        (f"reelcat review-queue{where}", "the videos that need a reviewer, riskiest first")
        if to_review
        else None,
        (f"reelcat about {shlex.quote(video)}{where}", "what a video is about, over time")
        if video
        else None,
        (f"reelcat serve{where}", "review in the browser"),
        (f'reelcat sql "select * from video_summaries"{where}', "the catalogue in SQL"),
    ]
    shown = [c for c in commands if c]
    width = max(len(command) for command, _ in shown)
    return ["\nnext:"] + [f"  {command:<{width}}   {what}" for command, what in shown]


def _strip(values: list[float]) -> str:
    """Scores in [0, 1] as block characters (NaN, a bin without a frame: a space)."""
    return "".join(
        BLOCKS[min(len(BLOCKS) - 1, int(round(v * (len(BLOCKS) - 1))))] if v == v else " "
        for v in values
    )


def _timeline_bins(duration: float, times: list[float], most: int) -> int:
    """How many bins a timeline strip has: at most `most`, and none narrower than the
    frames' usual spacing (the median gap between sampled frames), so that no bin falls
    between two frames and shows as a gap."""
    gaps = sorted(b - a for a, b in zip(times, times[1:], strict=False))
    spacing = gaps[len(gaps) // 2] if gaps else duration
    return max(1, min(most, int(duration / spacing)))


NICE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)  # seconds


def _time_axis(duration: float, bins: int) -> str:
    """The times under a strip of `bins` characters spanning `duration` seconds: 0 under
    its first character, round times where they fit, the duration ending under its last."""

    def stamp(t: float) -> str:
        return f"{int(t) // 60}:{int(t) % 60:02d}" if duration >= 60 else f"{t:g}s"

    end = stamp(duration) if duration >= 60 else f"{duration:.1f}s"
    last = max(0, bins - len(end))  # where the end label starts
    axis = [" "] * last + list(end)
    # labels at least 8 characters apart (none but 0 when no round step is that wide)
    step = next((s for s in NICE_STEPS if s * bins / duration >= 8), duration)
    t = 0.0
    while t < duration:
        label, at = stamp(t), round(t / duration * bins)
        if at + len(label) >= last:
            break
        axis[at : at + len(label)] = label
        t += step
    return "".join(axis)


def cmd_about(args: argparse.Namespace) -> int:
    """A video's summary, with a strip per top tag of its score over time (bins no
    narrower than the frames' spacing) above a time axis."""
    from catalog.build import open_catalog

    cfg = _config(args)
    con = open_catalog(cfg.output_dir)
    row = con.execute(
        "SELECT video_id, file_name, duration, about, top_tags FROM video_summary(?)", [args.video]
    ).fetchone()
    if row is None:
        print(f"reelcat: no video {args.video!r} in the catalogue", file=sys.stderr)
        return 2
    vid, name, duration, about, top = row
    print(f"{name}  ({duration or 0:.1f} s)\n  {about}")
    if args.png:
        from reelcat.video_pictures import KINDS, video_picture

        folder = Path(args.png).resolve()
        for kind in KINDS:
            path = write_bytes_atomic(
                folder / f"{Path(name).stem}_{kind}.png", video_picture(con, vid, kind)
            )
            print(f"  wrote {path}")
    if not top or not duration:
        return 0
    times = [
        t
        for (t,) in con.execute(
            "SELECT DISTINCT t FROM frame_tags WHERE video_id = ? ORDER BY t", [vid]
        ).fetchall()
    ]
    bins = _timeline_bins(duration, times, args.bins)
    print(f"\n  timeline, {bins} bins of {duration / bins:.1f} s (peak smoothed score):")
    for tag in top:
        scores = con.execute(
            "SELECT t, score FROM frame_tags WHERE video_id = ? AND tag = ? ORDER BY t", [vid, tag]
        ).fetchall()
        peaks = [float("nan")] * bins
        for t, s in scores:
            b = min(bins - 1, int(t / duration * bins))
            peaks[b] = s if peaks[b] != peaks[b] else max(peaks[b], s)
        print(f"  {tag:>16} |{_strip(peaks)}|")
    print(" " * 20 + _time_axis(duration, bins))
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    """Run statements that only read (reelcat.storage.readonly): anything else is refused,
    one line each, before any of them runs; so is a read outside the output folder. Each
    statement's result is printed in order, as a table or in --format."""
    import duckdb

    from catalog.build import open_catalog
    from reelcat.storage.readonly import Refused, read_statements, refusal

    cfg = _config(args, pull=CATALOG)  # DuckDB reads the rest where it is
    con = open_catalog(cfg.output_dir, cfg.output_url)
    try:
        between = ""
        for statement in read_statements(con, args.query):
            rel = con.sql(statement)
            if rel is not None:
                print(between + result_text(rel, args.format, args.max_rows), flush=True)
                between = "" if args.format == "json" else "\n"
    except Refused as exc:
        for reason in exc.reasons:
            print(f"reelcat: refused: {reason}", file=sys.stderr)
        return 2
    except duckdb.Error as exc:
        reason = refusal(exc, cfg.output_dir)
        if reason is None:
            raise
        print(f"reelcat: refused: {reason}", file=sys.stderr)
        return 2
    finally:
        con.close()
    return 0


def cmd_tags(args: argparse.Namespace) -> int:
    from catalog.build import open_catalog

    cfg = _config(args)
    con = open_catalog(cfg.output_dir)
    rel = con.sql("""
        SELECT f.tag, f.category, f.videos AS df, round(f.share, 3) AS share_of_videos,
               f.frames, round(f.seconds, 1) AS seconds,
               round(t.review, 3) AS review, round(t.accept, 3) AS accept, t.source
        FROM tag_frequencies AS f JOIN thresholds AS t USING (tag)
        ORDER BY f.videos DESC, f.tag""")
    print(result_text(rel, "table", max_rows=10_000))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from reelcat.config import model_id
    from reelcat.search.index import search_frames, text_query
    from reelcat.tagging.scores import open_archive

    cfg = _config(args)
    query = text_query(cfg.model, args.text)  # a text searched before loads no model
    con = open_archive(cfg)
    try:
        hits = search_frames(
            con,
            Layout(cfg.output_dir),
            model_id(cfg.model),
            cfg.sampling.id,
            query,
            args.k,
            exact=True if args.exact else None,
        )
        if not hits:
            print("reelcat: the catalogue has no frames")
            return 1
        _print_hits(con, Layout(cfg.output_dir), hits)
    finally:
        con.close()
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    from reelcat.config import model_id
    from reelcat.search.index import similar_frames
    from reelcat.tagging.scores import open_archive

    cfg = _config(args)
    con = open_archive(cfg)
    try:
        hits = similar_frames(
            con,
            Layout(cfg.output_dir),
            model_id(cfg.model),
            cfg.sampling.id,
            args.video,
            args.seconds,
            args.k,
            exact=True if args.exact else None,
        )
        _print_hits(con, Layout(cfg.output_dir), hits)
    except LookupError as exc:
        raise ConfigError(str(exc)) from None
    finally:
        con.close()
    return 0


def _print_hits(con, layout: Layout, hits: list[dict]) -> None:
    """Score, time, video name and thumbnail path of each search hit (names and
    thumbnails fetched for the hits only, in one query each)."""
    from reelcat.search.index import frame_thumbnails

    names = dict(
        con.execute(
            "SELECT video_id, file_name FROM video_names WHERE list_contains(?, video_id)",
            [[h["video_id"] for h in hits]],
        ).fetchall()
    )
    thumbnails = frame_thumbnails(con, hits)
    print(f"{'score':>6}  {'time':>7}  video / thumbnail")
    for hit in hits:
        path = layout.thumbnail(hit["video_id"], hit["frame"])
        if not path.exists():
            write_bytes_atomic(path, thumbnails[(hit["video_id"], hit["frame"])])
        print(
            f"{hit['similarity']:6.3f}  {hit['t']:7.1f}  "
            f"{names.get(hit['video_id'], hit['video_id'])}  {path}"
        )


def cmd_review_queue(args: argparse.Namespace) -> int:
    from catalog.build import open_catalog

    cfg = _config(args)
    con = open_catalog(cfg.output_dir)
    ((total, to_review),) = con.execute(
        "SELECT count(*), count(*) FILTER (decision = 'review') FROM video_risk"
    ).fetchall()
    rows = con.execute(
        "SELECT q.position, q.file_name, q.decision, q.risk, q.time_ranges, q.evidence, "
        "d.damage FROM review_queue AS q LEFT JOIN (SELECT video_id, min(damage) AS damage "
        "FROM video_summaries GROUP BY video_id) AS d USING (video_id) "
        "WHERE q.decision = 'review' OR ? ORDER BY q.position LIMIT ?",
        [args.all, args.limit],
    ).fetchall()
    print(
        f"{to_review} of {total} videos need review (riskiest first); {total - to_review} cleared\n"
    )
    for pos, name, decision, risk, ranges, evidence, damage in rows:
        print(f"{pos:>4}. {name}  [{decision}, risk {risk:.2f}]")
        if damage:  # decoded with errors: judged on the frames that decoded
            print(f"        {damage}")
        for r in ranges:
            print(
                f"        {r['concept']:<12} {r['start']:7.1f}-{r['end']:<7.1f}s  peak "
                f"{r['peak']:.2f}  {cfg.output_dir / r['thumbnail'] if r['thumbnail'] else ''}"
            )
        if decision == "clear":
            print(f"        {evidence}")
    if len(rows) == args.limit:
        print(f"\n(the first {args.limit} shown: --limit N shows more)")
    elif not args.all and total > to_review:
        print(f"\n({total - to_review} cleared videos not shown: --all lists them)")
    return 0


def cmd_heatmap(args: argparse.Namespace) -> int:
    from reelcat.moderation.step import stored_heatmap

    cfg = _config(args)
    path = write_bytes_atomic(
        Path(args.png).resolve(), stored_heatmap(cfg, time_axis=args.time_axis)
    )
    print(f"reelcat: wrote {path}")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    """Ask "is this X?" questions in the terminal, one key per answer, the frame drawn
    where the terminal can draw it."""
    from reelcat.feedback.review_session import ReviewSession

    cfg = _config(args)
    session = ReviewSession(cfg, reviewer=args.reviewer)
    asked = session.questions(args.n, tags=args.tag or None)
    if not asked:
        print("reelcat: no questions: the model is sure about everything it was asked")
        return 0
    print("Answer: y = yes, n = no, u = not sure, s = skip, z = undo, q = quit")
    history: list[tuple[str, int, str]] = []  # (verdict id, question, verdict) to undo
    i = 0
    while i < len(asked):
        a = asked[i]
        q = a.question
        print(
            f"[{i + 1}/{len(asked)}] Is this '{q.tag}'? {a.file_name} at {q.t:.1f} s "
            f"({q.reason}, score {q.score:.2f})"
        )
        picture = session.picture(a)
        draw_picture(picture_file(picture))
        print(f"    {picture}")
        try:
            key = read_key("> ")
        except (EOFError, KeyboardInterrupt):
            print()
            break
        if key == "q":
            break
        if key == "z":
            if history:
                verdict_id, i, _ = history.pop()
                session.undo(verdict_id)
                print("    undone")
            continue
        verdict = {"y": "yes", "n": "no", "u": "unsure", "s": "skip"}.get(key)
        if verdict is None:
            print("    keys: y n u s z q")
            continue
        source = "audit" if q.reason == "audit" else "question"
        history.append((session.answer(q.video_id, q.t, q.tag, verdict, source=source), i, verdict))
        i += 1
        if verdict == "skip":
            print("    skipped: asked again when the model's score there moves")
            continue
        stats = session.progress()["per_tag"].get(q.tag, {})
        precision = stats.get("precision")
        print(
            f"    recorded; {stats.get('answered', 0)} answers about '{q.tag}'"
            + (f", estimated precision {precision:.0%}" if precision is not None else "")
        )
    answered = sum(1 for *_, verdict in history if verdict != "skip")
    print(
        f"reelcat: {answered} answers recorded; the catalogue re-scores on the next run "
        "(or the Dagster sensor does it). `reelcat verdicts` lists them."
    )
    return 0


def cmd_verdicts(args: argparse.Namespace) -> int:
    from reelcat.feedback import verdict_list
    from reelcat.tagging.scores import open_archive

    cfg = _config(args)
    since = args.undo_since or args.since
    filters = verdict_list.Filters(
        tag=args.tag,
        video=args.video,
        reviewer=args.reviewer,
        since=verdict_list.parse_since(since) if since else None,
        limit=args.limit,
        everything=args.all,
    )
    con = open_archive(cfg)
    try:
        if args.undo or args.undo_since:
            return _undo_verdicts(cfg, con, args, filters)
        rows, matching = verdict_list.listed(con, filters)
    finally:
        con.close()
    if not rows:
        print("reelcat: no answers match" + ("" if args.all else " (--all lists skips too)"))
        return 0
    print("\n".join(verdict_list.table_lines(rows)))
    if matching > len(rows):
        print(f"\n(the newest {len(rows)} of {matching}: --limit N shows more)")
    return 0


def _undo_verdicts(cfg: Config, con, args: argparse.Namespace, filters) -> int:
    """`reelcat verdicts --undo ID…` or `--undo-since TIME`: one undo row per answer
    named, all written at once or none (an unknown, ambiguous or undone id writes none)."""
    from reelcat.config import model_id
    from reelcat.feedback import verdict_list
    from reelcat.feedback.verdicts import take_back
    from reelcat.tagging.vocabulary import load_vocabulary

    if args.undo:
        ids = args.undo
    else:
        ids = [r["verdict_id"] for r in verdict_list.standing_since(con, filters)]
        if not ids:
            print(f"reelcat: nothing to undo since {filters.since.isoformat(' ', 'seconds')}")
            return 0
    rows = take_back(
        con,
        Layout(cfg.output_dir),
        ids,
        reviewer=os.environ.get("USER", "anonymous"),
        model_id=model_id(cfg.model),
        vocabulary_id=load_vocabulary(cfg.vocabulary).id,
    )
    for row in rows:
        row["status"] = "undone"
    print(f"reelcat: undid {len(rows)} answer{'' if len(rows) == 1 else 's'}:")
    print("\n".join(verdict_list.table_lines(rows[:SHOWN])))
    if len(rows) > SHOWN:
        print(f"... and {len(rows) - SHOWN} more")
    return 0


def _archive_embeddings(cfg: Config):
    import numpy as np

    from catalog.build import open_catalog

    con = open_catalog(cfg.output_dir)
    rows = con.execute(
        "SELECT f.video_id, f.t, f.frame, f.embedding, n.file_name FROM frames f "
        "JOIN video_names n USING (video_id) ORDER BY 1, 2"
    ).fetchall()
    emb = np.asarray([r[3] for r in rows], dtype=np.float32)
    return con, rows, emb


def cmd_groups(args: argparse.Namespace) -> int:
    """Recurring look-alike frames worth a name: each group with what naming it would
    change (over the whole archive: reelcat.feedback.groups.preview), the tag most of it
    has already if one does, and three example thumbnails."""
    from reelcat.feedback.groups import find_groups, preview
    from reelcat.storage.thumbnails import export_thumbnails
    from reelcat.tagging.scores import open_archive

    cfg = _config(args)
    con, rows, emb = _archive_embeddings(cfg)
    groups = find_groups(emb, [r[0] for r in rows], seed=args.seed)[: args.n]
    layout = Layout(cfg.output_dir)
    for g in groups:
        p = preview(g, emb)
        examples = [rows[i] for i in g.members[:: max(1, g.size // 3)][:3]]
        wanted: dict[str, list[float]] = {}
        for r in examples:
            wanted.setdefault(r[0], []).append(r[1])
        store = open_archive(cfg)
        thumbs = export_thumbnails(store, layout, wanted)
        store.close()
        naming = f"naming it would label {_labelled(p)}"
        if p["uncertain"]:
            naming += f", and ask about {p['uncertain']} more that look somewhat alike"
        print(
            f"group {g.id}: {g.size} look-alike frames in {g.videos} videos "
            f"(cohesion {g.cohesion:.2f})\n    {naming}"
        )
        tag, tagged = _tag_of(con, [rows[i] for i in g.members])
        if tagged * 2 >= g.size:
            print(f"    it matches the tag '{tag}': {tagged} of its {g.size} frames have it")
        for r in examples:
            print(f"    {r[4]} at {r[1]:.1f} s  {cfg.output_dir / thumbs[(r[0], r[1])]}")
    con.close()
    if not groups:
        print("reelcat: no recurring look-alike groups")
    return 0


def _tag_of(con, members: list[tuple]) -> tuple[str | None, int]:
    """The tag (of the vocabulary, or a named group's) that most of these frames (rows
    of `_archive_embeddings`) have in the catalogue, and on how many of them."""
    found = con.execute(
        """
        WITH members AS (SELECT unnest($videos) AS video_id, unnest($frames) AS frame),
        tagged AS (
            SELECT tag FROM labels_final JOIN members USING (video_id, frame) WHERE label
            UNION ALL
            SELECT tag FROM named_group_labels JOIN members USING (video_id, frame)
            WHERE status = 'accepted'
        )
        SELECT tag, count(*) FROM tagged GROUP BY tag ORDER BY 2 DESC, 1 LIMIT 1""",
        {"videos": [r[0] for r in members], "frames": [r[2] for r in members]},
    ).fetchone()
    return found or (None, 0)


def cmd_name_group(args: argparse.Namespace) -> int:
    from reelcat.feedback.groups import find_groups

    cfg = _config(args)
    _, rows, emb = _archive_embeddings(cfg)
    groups = {g.id: g for g in find_groups(emb, [r[0] for r in rows], seed=args.seed)}
    if args.group not in groups:
        raise VerdictError(f"no group {args.group}: `reelcat groups` lists them")
    info = _name(cfg, args, groups[args.group], rows, emb)
    print(
        f"reelcat: '{args.name}' now labels {_labelled(info)}; {info['uncertain']} more "
        "that look somewhat alike will be asked about. Rebuild the catalogue (reelcat run) "
        "to see it in named_group_labels."
    )
    return 0


def _labelled(info: dict) -> str:
    """The frames a name labels (reelcat.feedback.groups.preview): its group's, and any
    elsewhere in the archive."""
    return f"{info['members']} frames" + (
        f" and {info['elsewhere']} like them elsewhere in the archive" if info["elsewhere"] else ""
    )


def _name(cfg: Config, args: argparse.Namespace, group, rows, emb) -> dict:
    """Name `group` `args.name` (name-group and teach): its members' "yes" answers."""
    import numpy as np

    from reelcat.feedback.groups import name_group
    from reelcat.tagging.vocabulary import load_vocabulary

    return name_group(
        Layout(cfg.output_dir),
        group,
        args.name,
        emb,
        [r[0] for r in rows],
        np.asarray([r[1] for r in rows]),
        load_vocabulary(cfg.vocabulary).names,
        reviewer=args.reviewer,
        confirmed=args.yes,
    )


def cmd_teach(args: argparse.Namespace) -> int:
    """`reelcat teach NAME FILE@SECONDS …`: a new concept from a few example frames."""
    from reelcat.feedback.groups import group_of_examples

    cfg = _config(args)
    _, rows, emb = _archive_embeddings(cfg)
    picked = []
    for example in args.examples:
        video, _, seconds = example.rpartition("@")
        try:
            t = float(seconds)
        except ValueError:
            raise VerdictError(f"an example is FILE@SECONDS, not {example!r}") from None
        frames = [i for i, r in enumerate(rows) if video in (r[0], r[4])]
        if not frames:
            raise VerdictError(f"no video {video!r} in the catalogue")
        picked.append(min(frames, key=lambda i: abs(rows[i][1] - t)))
    group = group_of_examples(emb, [r[0] for r in rows], picked)
    info = _name(cfg, args, group, rows, emb)
    print(
        f"reelcat: '{args.name}' taught from {group.size} examples now labels "
        f"{_labelled(info)}; {info['uncertain']} more that look somewhat alike will be "
        f"asked about (reelcat review --tag '{args.name}')."
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from reelcat.web.app import check_bind, serve

    check_bind(args.host, args.expose)  # before anything else: one line and exit 2
    cfg = _config(args)
    serve(cfg, args.host, args.port, expose=args.expose, allow_hosts=args.allow_host or ())
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    """Generate a labelled synthetic archive, with progress per video on stderr."""
    from reelcat.synthetic.archive import generate_archive

    if not args.out:
        raise ConfigError("synth needs --out DIR")
    display = progress_display()
    started, made = time.monotonic(), 0

    def one_more(line: str) -> None:
        nonlocal made
        made += 1
        note = f"{made}/{args.videos} videos"
        if made < args.videos:
            note += f", ETA {clock((time.monotonic() - started) / made * (args.videos - made))}"
        display.step("synth", made, note, line)

    with display:
        display.start("synth", args.videos)
        out = generate_archive(Path(args.out), args.videos, args.seed, log=one_more)
        display.finish("synth", True, f"{made} videos in {clock(time.monotonic() - started)}")
    print(f"reelcat: wrote a synthetic archive of {args.videos} videos to {out}")
    return 0


REVIEWER = "the name answers are recorded under (default: $USER)"
SEED = "seed of the clustering (default 0)"


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", help="reelcat.yaml (default: ./reelcat.yaml or $REELCAT_CONFIG)"
    )
    common.add_argument("--out", help="output folder (overrides the config)")
    common.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    p = argparse.ArgumentParser(prog="reelcat", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, parents=[common])

    run = command("run", "catalogue the archive (materialise every asset)")
    run.add_argument("--archive", action="append", help="archive folder (repeatable)")
    run.add_argument(
        "--accept-missing-roots",
        action="store_true",
        help="a root that held videos is missing or empty for good: let its videos leave",
    )
    run.add_argument("--model", help="open_clip model name")
    run.add_argument("--pretrained", help="open_clip pretrained tag or checkpoint path")
    run.add_argument(
        "--random-weights",
        action="store_true",
        help="random model weights: throughput measurement only",
    )
    run.add_argument(
        "--sampling",
        choices=["auto", "interval", "keyframes", "scene"],
        help="how frames are sampled (overrides the config's sampling.mode)",
    )
    run.set_defaults(func=cmd_run)
    about = command("about", "what a video is about")
    about.add_argument("video", help="file name, path or video id")
    about.add_argument(
        "--bins",
        type=int,
        default=40,
        help="at most this many time bins per strip (default 40; fewer when the video has "
        "fewer sampled frames, so that every bin holds one)",
    )
    about.add_argument(
        "--png",
        metavar="DIR",
        help="also draw the video's word cloud, tag chart and severity strip as PNGs into DIR",
    )
    about.set_defaults(func=cmd_about)
    q = command("sql", "read-only SQL on the catalogue")
    q.add_argument(
        "query",
        help="SELECT (DESCRIBE, SHOW, SUMMARIZE, EXPLAIN too); anything that writes, copies, "
        "attaches, installs, loads or changes settings is refused",
    )
    q.add_argument(
        "--max-rows",
        type=int,
        default=50,
        help="rows a table shows of each result (default 50; csv, json and markdown show all)",
    )
    q.add_argument(
        "--format",
        choices=SQL_FORMATS,
        default="table",
        help="table (default: every column, numbers rounded), csv or json (every row, exact "
        "values: json is one array of objects per statement, a line each), or markdown",
    )
    q.set_defaults(func=cmd_sql)
    command("tags", "the vocabulary with counts and thresholds").set_defaults(func=cmd_tags)
    s = command("search", "frames that look like a text")
    s.add_argument("text", help="what the frames should look like, in words")
    s.add_argument("-k", type=int, default=10, help="how many frames (default 10)")
    s.add_argument(
        "--exact",
        action="store_true",
        help="scan every frame instead of asking the index (the oracle)",
    )
    s.set_defaults(func=cmd_search)
    sim = command("similar", "other videos' frames that look like one frame (the frame index)")
    sim.add_argument("video", help="file name, path or video id")
    sim.add_argument("seconds", type=float, help="the frame nearest this time")
    sim.add_argument("-k", type=int, default=10, help="how many frames")
    sim.add_argument("--exact", action="store_true", help="scan every frame (the oracle)")
    sim.set_defaults(func=cmd_similar)
    rq = command("review-queue", "videos that need a reviewer, riskiest first")
    rq.add_argument("--all", action="store_true", help="also list cleared videos")
    rq.add_argument("--limit", type=int, default=500, help="list at most this many videos")
    rq.set_defaults(func=cmd_review_queue)
    hm = command("heatmap", "draw the archive severity heat map from the last run as a PNG")
    hm.add_argument("--png", required=True, help="PNG file to write (nothing else is written)")
    hm.add_argument(
        "--time-axis",
        choices=["relative", "seconds"],
        default="relative",
        help="relative: each video spans the full width (default); seconds: one axis in "
        "seconds for all, shorter videos end early",
    )
    hm.set_defaults(func=cmd_heatmap)
    rv = command("review", "answer 'is this X?' questions in the terminal")
    rv.add_argument("-n", type=int, default=20, help="questions in this session")
    rv.add_argument("--tag", action="append", help="only ask about this tag (repeatable)")
    rv.add_argument("--reviewer", default=os.environ.get("USER", "anonymous"), help=REVIEWER)
    rv.set_defaults(publishes=True, func=cmd_review)
    vd = command("verdicts", "the answers given, newest first; undo some of them")
    vd.add_argument("--tag", help="only answers about this tag")
    vd.add_argument("--video", help="only answers about this video (file name or id)")
    vd.add_argument("--reviewer", help="only this reviewer's answers")
    vd.add_argument("--since", help="only answers given at or after this ISO date/time")
    vd.add_argument("--limit", type=int, default=SHOWN, help="list at most this many")
    vd.add_argument("--all", action="store_true", help="also list skips and undo rows")
    undo = vd.add_mutually_exclusive_group()
    undo.add_argument("--undo", nargs="+", metavar="ID", help="undo these answers (id prefixes)")
    undo.add_argument(
        "--undo-since",
        metavar="TIME",
        help="undo every answer given at or after TIME that is not undone yet (the filters "
        "narrow it; with --all skips too)",
    )
    vd.set_defaults(publishes=True, func=cmd_verdicts)
    gr = command("groups", "recurring look-alike frames worth a name")
    gr.add_argument("-n", type=int, default=10, help="list at most this many groups (default 10)")
    gr.add_argument("--seed", type=int, default=0, help=SEED)
    gr.set_defaults(func=cmd_groups)
    ng = command("name-group", "turn a group into a tag (says how many frames it changes)")
    ng.add_argument("group", type=int, help="the group's number in `reelcat groups`")
    ng.add_argument("name", help="the new tag's name")
    ng.add_argument("--yes", action="store_true", help="confirm a change of many frames")
    ng.add_argument("--seed", type=int, default=0, help=SEED + " (the one `groups` used)")
    ng.add_argument("--reviewer", default=os.environ.get("USER", "anonymous"), help=REVIEWER)
    ng.set_defaults(publishes=True, func=cmd_name_group)
    te = command("teach", "a new concept from a few example frames (FILE@SECONDS …)")
    te.add_argument("name", help="the new tag's name")
    te.add_argument(
        "examples",
        nargs="+",
        metavar="FILE@SECONDS",
        help="example frames: a video (file name or id) and a time, at least two",
    )
    te.add_argument("--yes", action="store_true", help="confirm a change of many frames")
    te.add_argument("--reviewer", default=os.environ.get("USER", "anonymous"), help=REVIEWER)
    te.set_defaults(publishes=True, func=cmd_teach)
    sv = command("serve", "the review web page (binds 127.0.0.1 unless --expose)")
    sv.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1); beyond loopback only with --expose",
    )
    sv.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    sv.add_argument(
        "--expose",
        action="store_true",
        help="allow a --host beyond loopback: no login, so every request then needs the "
        "access token printed at start",
    )
    sv.add_argument(
        "--allow-host",
        action="append",
        metavar="NAME",
        help="also answer requests addressed to this host name (repeatable)",
    )
    sv.set_defaults(publishes=True, func=cmd_serve)
    syn = command("synth", "generate a labelled synthetic archive into --out")
    syn.add_argument("--videos", type=int, default=12, help="how many videos (default 12)")
    syn.add_argument(
        "--seed", type=int, default=7, help="the same seed makes the same archive (default 7)"
    )
    syn.set_defaults(func=cmd_synth)
    return p


def main(argv: list[str] | None = None, *, own_process: bool = False) -> int:
    """Run a command; an error is one line on stderr (exit 2 for a usage or configuration
    error, 1 otherwise), the traceback only with --debug. `own_process`: the process is
    the command's own and ends with it (`console`)."""
    args = build_parser().parse_args(argv)
    args.own_process = own_process
    try:
        try:
            return args.func(args)
        finally:
            cfg = getattr(args, "loaded_config", None)
            if getattr(args, "publishes", False) and cfg is not None and cfg.output_url:
                Mirror(cfg.output_url, cfg.output_dir).push()
    except Exception as exc:
        import duckdb

        if getattr(args, "debug", False):
            raise
        if isinstance(exc, (ConfigError, FileNotFoundError, VerdictError)):
            print(f"reelcat: {exc}", file=sys.stderr)
            return 2
        if isinstance(exc, duckdb.Error):
            print(f"reelcat: SQL error: {exc}", file=sys.stderr)
            return 2
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(
            f"reelcat: {type(exc).__name__}: {first} (--debug shows the traceback)",
            file=sys.stderr,
        )
        return 1


def console() -> None:
    """The `reelcat` command (pyproject's script): `main`, and an exit that costs nothing.

    CPython's cyclic garbage collector walks every object the process holds each time it
    runs a full collection, and again while the interpreter shuts down. A run holds
    Dagster's, torch's and reelcat's definitions: a few million objects, made by imports,
    that live until the end anyway. In a run over one small video the collections took
    0.74-0.80 s and the shutdown 1.0 s; with the freezes below, 0.34-0.38 s and 0.2 s
    (benchmarks/throughput.py `fixed_overhead_s`). `gc.freeze()` moves every object that
    exists to a generation the collector never walks: `reelcat run` freezes once its
    modules are imported, and every command freezes before it exits. Garbage made while
    the command runs is collected as before. Tests call `main` in pytest's process, which
    is never frozen."""
    code = main(own_process=True)
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    console()
