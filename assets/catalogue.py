"""The DuckDB catalogue: views over Parquet and the summary tables people query."""


import dagster as dg

from assets.tagging import frame_tags
from catalog.build import build_catalog, open_catalog
from catalog.reports import summary_pictures
from orchestration.resources import ReelcatSettings
from reelcat.model import model_id
from reelcat.pictures import markdown_image
from reelcat.vocabulary import load_vocabulary


@dg.asset(name="catalog", group_name="catalogue", deps=[frame_tags], kinds={"duckdb"})
def catalog_asset(context: dg.AssetExecutionContext, settings: ReelcatSettings):
    """out/catalog.duckdb: views (manifest, frames, frame_tags) and tables (thresholds,
    segments, video_tags, video_summaries, tag_frequencies) with macros video_summary,
    timeline and similar_frames. Pictures go to out/pictures/."""
    cfg = settings.load()
    vocab = load_vocabulary(cfg.vocabulary)
    path = build_catalog(cfg.output_dir, model_id=model_id(cfg.model),
                         sampling_id=cfg.sampling.id, vocab=vocab,
                         interval_seconds=cfg.sampling.interval_seconds)
    con = open_catalog(cfg.output_dir)
    try:
        files = summary_pictures(con, cfg.output_dir)
        top = con.execute(
            "SELECT file_name, about FROM video_summaries ORDER BY file_name LIMIT 25").fetchall()
        freq = con.execute(
            "SELECT tag, videos, round(share_of_time * 100, 1) FROM tag_frequencies "
            "ORDER BY videos DESC, tag LIMIT 10").fetchall()
        n_videos = con.execute("SELECT count(*) FROM video_summaries").fetchone()[0]
        n_segments = con.execute("SELECT count(*) FROM segments").fetchone()[0]
    finally:
        con.close()
    chart = files["tag_frequencies"].read_bytes()
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(path)),
        "videos": n_videos,
        "segments": n_segments,
        "summaries": dg.MetadataValue.md(
            "| video | about |\n|---|---|\n" + "\n".join(f"| {f} | {a} |" for f, a in top)),
        "top_tags": dg.MetadataValue.md(
            "| tag | videos | % of time |\n|---|---|---|\n"
            + "\n".join(f"| {t} | {v} | {s} |" for t, v, s in freq)),
        "tag_frequency_chart": dg.MetadataValue.md(
            markdown_image(chart, "tag frequencies")
            + f"\n\n[{files['tag_frequencies']}]({files['tag_frequencies']})"),
    })
