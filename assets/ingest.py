"""The archive side: which videos exist, and their sampled, embedded frames."""

import dagster as dg

from assets.resources import RayResource, ReelcatSettings
from reelcat.config import model_id
from reelcat.ingest.step import embed_archive, write_manifest
from reelcat.preflight import check_before_run
from reelcat.storage.layout import Layout


@dg.asset(group_name="ingest", kinds={"ffmpeg", "parquet"})
def video_manifest(context: dg.AssetExecutionContext, settings: ReelcatSettings):
    """Every video file under the archive roots, ffprobed, fingerprinted; bad files are
    rows with status='error' and a reason."""
    cfg = settings.load()
    check_before_run(cfg)  # model, vocabulary, output folder: before anything is decoded
    report = write_manifest(cfg)
    for r in report.errors:
        context.log.warning(f"{r['path']}: {r['error']}")
    preview = "\n".join(
        f"| {r['path'].rsplit('/', 1)[-1]} | {r['error']} |" for r in report.errors[:20]
    )
    return dg.MaterializeResult(
        metadata={
            "videos": report.videos,
            "errors": len(report.errors),
            "hours": round(report.hours, 3),
            "probed": report.probed,
            "moved": report.moved,
            "unchanged_not_read": report.unchanged,
            "missing_kept": report.missing,
            "missing_expired": report.expired,
            "path": dg.MetadataValue.path(str(Layout(cfg.output_dir).manifest)),
            "errors_preview": dg.MetadataValue.md(
                "| file | reason |\n|---|---|\n" + preview if report.errors else "no errors"
            ),
        }
    )


@dg.asset(group_name="ingest", deps=[video_manifest], kinds={"ray", "pytorch", "parquet"})
def video_frames(
    context: dg.AssetExecutionContext, settings: ReelcatSettings, ray_cluster: RayResource
):
    """Sampled frames with real timestamps, a JPEG thumbnail and the CLIP image embedding
    each; decoded by ffmpeg tasks and embedded by CLIP actors on Ray (a small increment on
    a machine with no cluster: in the run's process, ray.in_process_frames). Videos already
    embedded with this model and sampling are skipped; failed decodes are rows in
    frame_errors."""
    cfg = settings.load()
    mid = model_id(cfg.model)
    if cfg.model.random_weights:
        context.log.warning(f"model {mid}: RANDOM WEIGHTS, tags are meaningless")
    report = embed_archive(
        cfg,
        progress=context.log.info,
        connect=lambda: ray_cluster.connect(cfg.ray.address),
        cluster=ray_cluster.resolve_address(cfg.ray.address) is not None,
    )
    return dg.MaterializeResult(
        metadata={
            "model_id": mid,
            "sampling_id": cfg.sampling.id,
            "videos_embedded": len(report.written),
            "videos_skipped_unchanged": report.skipped,
            "frame_files_written": len(report.files),
            "frame_files_compacted_into": len(report.compacted),
            "videos_failed": len(report.errors),
            "videos_damaged": len(report.damaged),
            "frames_new": report.frames,
            "embedded_on": report.embedded_on or "nothing to embed",
        }
    )
