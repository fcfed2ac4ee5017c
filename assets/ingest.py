"""The archive side: which videos exist, and their sampled, embedded frames."""


import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq

from orchestration.resources import RayResource, ReelcatSettings
from reelcat.config import model_id
from reelcat.manifest import build_manifest
from reelcat.pipeline import embed_videos
from reelcat.store import FRAME_ERRORS, MANIFEST, write_rows, write_table


@dg.asset(group_name="ingest", kinds={"ffmpeg", "parquet"})
def video_manifest(context: dg.AssetExecutionContext, settings: ReelcatSettings):
    """Every video file under the archive roots, ffprobed, fingerprinted; bad files are
    rows with status='error' and a reason."""
    cfg = settings.load()
    rows = [r.to_row() for r in build_manifest(cfg.archive_roots)]
    path = write_rows(rows, cfg.output_dir / "manifest.parquet", MANIFEST)
    errors = [r for r in rows if r["status"] == "error"]
    for r in errors:
        context.log.warning(f"{r['path']}: {r['error']}")
    preview = "\n".join(f"| {r['path'].rsplit('/', 1)[-1]} | {r['error']} |" for r in errors[:20])
    return dg.MaterializeResult(metadata={
        "videos": len(rows) - len(errors),
        "errors": len(errors),
        "hours": round(sum(r["duration"] or 0 for r in rows) / 3600, 3),
        "path": dg.MetadataValue.path(str(path)),
        "errors_preview": dg.MetadataValue.md(
            "| file | reason |\n|---|---|\n" + preview if errors else "no errors"),
    })


@dg.asset(group_name="ingest", deps=[video_manifest], kinds={"ray", "pytorch", "parquet"})
def video_frames(context: dg.AssetExecutionContext, settings: ReelcatSettings,
                 ray_cluster: RayResource):
    """Sampled frames with real timestamps, a JPEG thumbnail and the CLIP image embedding
    each; decoded by ffmpeg tasks and embedded by CLIP actors on Ray. Videos already
    embedded with this model and sampling are skipped."""
    cfg = settings.load()
    manifest = pq.read_table(cfg.output_dir / "manifest.parquet").to_pylist()
    ok = {r["video_id"]: r for r in manifest if r["status"] == "ok"}
    mid = model_id(cfg.model)
    if cfg.model.random_weights:
        context.log.warning(f"model {mid}: RANDOM WEIGHTS, tags are meaningless")
    report = embed_videos(
        list(ok.values()), out=cfg.output_dir, model_cfg=cfg.model, model_id=mid,
        sampling=cfg.sampling, decode_tasks=cfg.ray.decode_tasks,
        embed_actors=cfg.ray.embed_actors, actor_cpus=cfg.ray.actor_cpus,
        actor_gpus=cfg.ray.actor_gpus, progress=context.log.info, connect=ray_cluster.connect,
    )
    error_rows = [{"video_id": vid, "path": ok[vid]["path"], "error": err}
                  for vid, err in report.errors.items()]
    write_table(pa.Table.from_pylist(error_rows, schema=FRAME_ERRORS),
                cfg.output_dir / "frame_errors.parquet", FRAME_ERRORS)
    return dg.MaterializeResult(metadata={
        "model_id": mid,
        "sampling_id": cfg.sampling.id,
        "videos_embedded": len(report.written),
        "videos_skipped_unchanged": len(report.skipped),
        "decode_errors": len(report.errors),
        "frames_new": report.frames,
    })
