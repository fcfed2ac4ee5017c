"""Run the ingest steps over the configured archive (the ingest assets call these):
the manifest of every file, then sampled and embedded frames of the new videos."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from reelcat.config import Config, model_id
from reelcat.ingest.compaction import compact_frames
from reelcat.ingest.manifest import build_manifest
from reelcat.ingest.pipeline import EmbedReport, embed_videos
from reelcat.storage.layout import Layout
from reelcat.storage.parquet import write_table
from reelcat.storage.schemas import FRAME_ERRORS, MANIFEST


class ArchiveRootUnavailable(RuntimeError):
    """A root that held catalogued videos cannot be scanned or is empty: the run stops
    with the videos kept (status 'missing') until it is back or the change is accepted."""

    def __init__(self, roots: dict):
        listed = sorted(roots.items(), key=lambda kv: kv[0].root)
        said = "; ".join(
            f"archive root {p.root} is {p.state}"
            + (f" (it held {n} catalogued videos, kept as 'missing')" if n else "")
            for p, n in listed[:3]
        ) + (f"; and {len(listed) - 3} more folders" if len(listed) > 3 else "")
        super().__init__(
            f"{said}. Nothing else ran; the catalogue keeps what it knew. Mount or fix "
            "the root, or rerun with --accept-missing-roots if its videos are gone for good"
        )


@dataclass
class ManifestReport:
    videos: int  # good files
    hours: float
    errors: list[dict]  # the rows with status 'error' (path, error)
    probed: int  # files ffprobe read this time (new, changed, or failed before)
    moved: int  # known content found at a new path (fingerprinted, not probed)
    unchanged: int  # rows kept without reading the file
    missing: int  # files no longer found, kept (status 'missing')
    expired: int  # missing longer than keep_missing_days: dropped this run


def write_manifest(cfg: Config) -> ManifestReport:
    """Scan the archive and write the manifest, probing only what changed."""
    layout = Layout(cfg.output_dir)
    previous = None
    if layout.manifest.exists():
        previous = pq.read_table(layout.manifest)
        if previous.schema != MANIFEST:  # written by an older reelcat: probe everything
            previous = None
    update = build_manifest(
        cfg.archive_roots, previous, MANIFEST, keep_missing_days=cfg.keep_missing_days
    )
    table = update.table
    # a root that held videos and is now unavailable stops the run (its videos kept as
    # 'missing'), and so does a root that does not exist or cannot be read at all
    blocking = dict(update.unavailable) | {
        p: 0 for p in update.problems if p.state in ("missing", "unreadable")
    }
    if blocking and cfg.accept_missing_roots:  # the operator says they are gone
        held = pc.is_in(table["path"], pa.array(update.missing, pa.string()))
        table = table.filter(pc.invert(held))
        update.missing = []
    write_table(table, layout.manifest, MANIFEST)
    if blocking and not cfg.accept_missing_roots:
        raise ArchiveRootUnavailable(blocking)
    ok = pc.equal(table["status"], "ok")
    errors = table.filter(pc.equal(table["status"], "error")).select(["path", "error"]).to_pylist()
    seconds = pc.sum(table.filter(ok)["duration"]).as_py() or 0.0
    return ManifestReport(
        int(pc.sum(ok).as_py() or 0),
        seconds / 3600,
        errors,
        len(update.probed),
        len(update.moved),
        update.unchanged,
        len(update.missing),
        len(update.expired),
    )


def videos_to_embed(candidates: pa.Table, frames_folder: Path) -> list[dict]:
    """The candidate videos (video_id, path, duration) that have no frames yet in
    `frames_folder`: one anti-join in DuckDB, however many are embedded already."""
    con = duckdb.connect()
    try:
        con.register("candidates", candidates.select(["video_id", "path", "duration"]))
        embedded = "SELECT NULL::VARCHAR AS video_id WHERE false"
        params = {}
        if Layout.batch_files(frames_folder):
            embedded = "SELECT DISTINCT video_id FROM read_parquet($frames)"
            params["frames"] = str(frames_folder / "batch-*.parquet")
        return (
            con.sql(
                "SELECT video_id, any_value(path) AS path, any_value(duration) AS duration "
                f"FROM candidates WHERE video_id NOT IN ({embedded}) "
                "GROUP BY video_id ORDER BY path",
                params=params,
            )
            .to_arrow_table()
            .to_pylist()
        )
    finally:
        con.close()


def frames_to_sample(videos: list[dict], cfg: Config) -> float:
    """About how many frames sampling the videos gives (one per interval_seconds)."""
    return sum(v["duration"] or 0.0 for v in videos) / cfg.sampling.interval_seconds


def embed_archive(
    cfg: Config,
    *,
    progress: Callable[[str], None],
    connect: Callable[[], None],
    cluster: bool = False,
) -> EmbedReport:
    """Decode and embed every good video lacking frames for this model and sampling (new
    frames batch files); a video whose decode fails is a row in frame_errors. On Ray
    (`connect`), unless no `cluster` is configured and the increment is small (at most
    ray.in_process_frames frames to sample): then in this process, without Ray's start."""
    layout = Layout(cfg.output_dir)
    mid = model_id(cfg.model)
    manifest = pq.read_table(layout.manifest, columns=["video_id", "path", "duration", "status"])
    good = manifest.filter(pc.equal(manifest["status"], "ok"))
    todo = videos_to_embed(good, layout.frames_dir(mid, cfg.sampling.id))
    report = embed_videos(
        todo,
        out=cfg.output_dir,
        model_cfg=cfg.model,
        model_id=mid,
        sampling=cfg.sampling,
        decode_tasks=cfg.ray.decode_tasks,
        embed_actors=cfg.ray.embed_actors,
        actor_cpus=cfg.ray.actor_cpus,
        actor_gpus=cfg.ray.actor_gpus,
        stall_seconds=cfg.ray.stall_seconds,
        progress=progress,
        connect=connect,
        in_process=not cluster and frames_to_sample(todo, cfg) <= cfg.ray.in_process_frames,
    )
    report.skipped = len(pc.unique(good["video_id"])) - len(todo)
    report.compacted = compact_frames(
        layout.frames_dir(mid, cfg.sampling.id), pc.unique(good["video_id"])
    )
    path_of = {v["video_id"]: v["path"] for v in todo}
    error_rows = [
        {"video_id": vid, "path": path_of[vid], "error": err, "kind": "failed"}
        for vid, err in report.errors.items()
    ]
    write_table(
        pa.Table.from_pylist(error_rows, schema=FRAME_ERRORS), layout.frame_errors, FRAME_ERRORS
    )
    return report
