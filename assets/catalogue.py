"""The DuckDB catalogue: views over the Parquet store and the tables people query."""

import dagster as dg

from assets.moderation import video_risk
from assets.summaries import video_summaries
from assets.tagging import frame_tags
from catalog.build import build_catalog, open_catalog
from orchestration.resources import ReelcatSettings
from reelcat.config import model_id
from reelcat.tagging import scored_vocabulary_id
from reelcat.vocabulary import load_vocabulary


@dg.asset(name="catalog", group_name="catalogue", deps=[frame_tags, video_summaries, video_risk],
          kinds={"duckdb"})
def catalog_asset(context: dg.AssetExecutionContext, settings: ReelcatSettings):
    """out/catalog.duckdb: views manifest, frames, frame_tags; tables thresholds, segments,
    video_tags, video_summaries, tag_frequencies, moderation_timeline, moderation_segments,
    video_risk; view review_queue; macros video_summary, timeline, similar_frames."""
    cfg = settings.load()
    vocab = load_vocabulary(cfg.vocabulary)
    path = build_catalog(cfg.output_dir, model_id=model_id(cfg.model),
                         sampling_id=cfg.sampling.id, vocab=vocab,
                         vocabulary_id=scored_vocabulary_id(cfg, vocab),
                         interval_seconds=cfg.sampling.interval_seconds)
    con = open_catalog(cfg.output_dir)
    try:
        summaries = con.execute(
            "SELECT file_name, about FROM video_summaries ORDER BY file_name LIMIT 25").fetchall()
        freq = con.execute(
            "SELECT tag, videos, round(share_of_time * 100, 1) FROM tag_frequencies "
            "ORDER BY videos DESC, tag LIMIT 10").fetchall()
        counts = con.execute(
            "SELECT (SELECT count(*) FROM video_summaries), (SELECT count(*) FROM frames), "
            "(SELECT count(*) FROM segments)").fetchone()
    finally:
        con.close()
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(path)),
        "videos": counts[0],
        "frames": counts[1],
        "segments": counts[2],
        "summaries": dg.MetadataValue.md(
            "| video | about |\n|---|---|\n"
            + "\n".join(f"| {f} | {a} |" for f, a in summaries)),
        "top_tags": dg.MetadataValue.md(
            "| tag | videos | % of time |\n|---|---|---|\n"
            + "\n".join(f"| {t} | {v} | {s} |" for t, v, s in freq)),
    })
