"""The DuckDB catalogue: views over the Parquet store and the tables people query."""

import dagster as dg

from assets.feedback import verdict_log
from assets.ingest import video_frames, video_manifest
from assets.resources import ReelcatSettings
from assets.tagging import frame_tags
from catalog.build import build_catalog, open_catalog
from reelcat.config import model_id
from reelcat.tagging.scores import results_key
from reelcat.tagging.vocabulary import load_vocabulary

_UPSTREAM = [video_manifest, video_frames, frame_tags, verdict_log] + [
    dg.AssetKey(k)
    for k in (
        "tag_thresholds",
        "tag_segments",
        "video_tags",
        "video_summaries",
        "moderation_timeline",
        "moderation_segments",
        "video_risk",
    )
]


@dg.asset(name="catalog", group_name="catalogue", deps=_UPSTREAM, kinds={"duckdb"})
def catalog_asset(context: dg.AssetExecutionContext, settings: ReelcatSettings):
    """The DuckDB catalogue file in the output folder. Views over the store: manifest, video_names,
    frames, frame_tags, verdicts, verdicts_effective, frame_verdicts, labels_final,
    named_groups, named_group_labels, review_queue. Tables: vocabulary, thresholds,
    segments, video_tags, video_summaries, tag_frequencies, moderation_timeline,
    moderation_segments, video_risk, catalog_settings. Macros video_summary, timeline,
    similar_frames."""
    cfg = settings.load()
    vocab = load_vocabulary(cfg.vocabulary)
    path = build_catalog(
        cfg.output_dir,
        model_id=model_id(cfg.model),
        sampling_id=cfg.sampling.id,
        vocab=vocab,
        vocabulary_id=vocab.id,
        interval_seconds=cfg.sampling.interval_seconds,
        results_key=results_key(cfg, vocab),
        url=cfg.output_url,
    )
    con = open_catalog(cfg.output_dir)
    try:
        summaries = con.execute(
            "SELECT file_name, about FROM video_summaries ORDER BY file_name LIMIT 25"
        ).fetchall()
        freq = con.execute(
            "SELECT tag, videos, round(share_of_time * 100, 1) FROM tag_frequencies "
            "ORDER BY videos DESC, tag LIMIT 10"
        ).fetchall()
        counts = con.execute(
            "SELECT (SELECT count(*) FROM video_summaries), (SELECT count(*) FROM frames), "
            "(SELECT count(*) FROM segments)"
        ).fetchone()
    finally:
        con.close()
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "videos": counts[0],
            "frames": counts[1],
            "segments": counts[2],
            "summaries": dg.MetadataValue.md(
                "| video | about |\n|---|---|\n" + "\n".join(f"| {f} | {a} |" for f, a in summaries)
            ),
            "top_tags": dg.MetadataValue.md(
                "| tag | videos | % of time |\n|---|---|---|\n"
                + "\n".join(f"| {t} | {v} | {s} |" for t, v, s in freq)
            ),
        }
    )
