"""Write the summary tables and the archive's tag chart for the configured archive (the
summaries assets call it).

Per video, only for frames batches without results under the current key (reelcat.
storage.results), a few videos at a time; then set-wise in DuckDB: every video's tag
ranking (df, idf) and summary line, streamed to Parquet, and the tag chart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from reelcat.config import Config, model_id
from reelcat.pictures import bar_chart_png
from reelcat.storage.layout import Layout
from reelcat.storage.parquet import write_bytes_atomic, write_relation
from reelcat.storage.results import BatchResults, SetWiseStamp
from reelcat.storage.schemas import SEGMENTS, SUMMARIES, TAG_STATS, VIDEO_FRAMES, VIDEO_TAGS
from reelcat.storage.views import define_result_views
from reelcat.summaries.summarise import summarise, video_summaries_query, video_tags_query
from reelcat.tagging.scores import load_answers, open_archive, results_key, video_chunks
from reelcat.tagging.thresholds import load_thresholds
from reelcat.tagging.vocabulary import load_vocabulary

TABLES = {"segments": SEGMENTS, "tag_stats": TAG_STATS, "video_frames": VIDEO_FRAMES}
EXAMPLES = 3  # summaries returned for the run's metadata


@dataclass
class SummaryResult:
    batches_computed: int  # frames batches summarised this time
    batches_kept: int  # their results were current
    videos: int
    segments: int
    video_tags: int
    examples: list[dict]  # a few new videos' summaries, with their names
    pictures: dict[str, Path] = field(default_factory=dict)


def write_summaries(cfg: Config) -> SummaryResult:
    vocab = load_vocabulary(cfg.vocabulary)
    layout = Layout(cfg.output_dir)
    mid = model_id(cfg.model)
    key = results_key(cfg, vocab)
    thresholds = load_thresholds(layout, vocab)
    tags_dir = layout.tags_dir(mid, vocab.id)
    frames_files = Layout.batch_files(layout.frames_dir(mid, cfg.sampling.id))
    results = BatchResults(layout, key, TABLES)
    con = open_archive(cfg, vocab, results=True)
    new_videos: list[str] = []

    def compute(frames_file: Path, tags_file: Path):
        for videos in video_chunks(con, frames_file, tags_file):
            new_videos.extend(v.video_id for v in videos[: max(0, EXAMPLES - len(new_videos))])
            yield summarise(videos, thresholds, cfg.sampling.interval_seconds)

    try:
        load_answers(con)
        computed = results.compute_missing(frames_files, tags_dir, compute)
        pruned = results.prune({f.name for f in frames_files})
        stamp = SetWiseStamp(layout.video_summaries, key)
        if computed or pruned or not stamp.current(layout.manifest):
            _rank_archive(con, layout, key)
            stamp.write()
        counts, examples = _counts_and_examples(con, layout, key, new_videos)
    finally:
        con.close()
    chart = layout.tag_frequencies_chart
    if computed or not chart.exists() or chart.stat().st_mtime < stamp.path.stat().st_mtime:
        write_bytes_atomic(chart, _tag_chart(layout))
    return SummaryResult(
        computed,
        len(frames_files) - computed,
        *counts,
        examples,
        {"folder": layout.pictures, "tag_frequencies": chart},
    )


def _rank_archive(con, layout: Layout, key: str) -> None:
    """Set-wise: video_tags and video_summaries for every catalogued video, streamed."""
    define_result_views(con, layout, key)  # empty when no batch has results yet
    write_relation(video_tags_query(con), layout.video_tags, VIDEO_TAGS)
    con.execute(
        "CREATE OR REPLACE TEMP VIEW video_tags AS SELECT * FROM read_parquet(video_tags_path())"
    )
    write_relation(video_summaries_query(con), layout.video_summaries, SUMMARIES)


def _counts_and_examples(
    con, layout: Layout, key: str, examples: list[str]
) -> tuple[tuple[int, int, int], list[dict]]:
    """Rows in the archive-wide tables (from Parquet metadata: no scan), and the summaries
    of a few of this run's new videos."""
    segments = sum(
        pq.ParquetFile(f).metadata.num_rows
        for f in Layout.batch_files(layout.results_dir(key, "segments"))
    )
    counts = (
        pq.ParquetFile(layout.video_summaries).metadata.num_rows,
        segments,
        pq.ParquetFile(layout.video_tags).metadata.num_rows,
    )
    if not examples:
        return counts, []
    rows = con.execute(
        "SELECT s.*, n.file_name AS name FROM read_parquet(video_summaries_path()) AS s "
        "JOIN video_names AS n USING (video_id) WHERE list_contains($ids, s.video_id) "
        "ORDER BY n.file_name",
        {"ids": examples},
    ).fetchall()
    names = [d[0] for d in con.description]
    return counts, [dict(zip(names, r, strict=True)) for r in rows]


def _tag_chart(layout: Layout) -> bytes:
    """Share of the archive's videos with each tag (from the video_tags just written)."""
    import duckdb

    con = duckdb.connect()
    try:
        ((videos,),) = con.execute(
            "SELECT count(*) FROM read_parquet(?)", [str(layout.video_summaries)]
        ).fetchall()
        freq = con.execute(
            "SELECT tag, count(*) FROM read_parquet(?) GROUP BY tag ORDER BY 2 DESC, tag",
            [str(layout.video_tags)],
        ).fetchall()
    finally:
        con.close()
    n = max(1, videos)
    return bar_chart_png(
        [t for t, _ in freq], [c / n for _, c in freq], title="Share of videos with each tag"
    )
