"""Frame search through the index agrees with the exact scan, and the index grows with
the store's batches."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq

from reelcat.config import model_id
from reelcat.search.index import (
    extend_index,
    frame_thumbnails,
    indexed_batches,
    search_frames,
)
from reelcat.storage.layout import Layout
from reelcat.tagging.scores import open_archive

from .conftest import copy_of, tiny_config


def test_indexed_search_finds_what_the_exact_scan_finds(out):
    cfg = tiny_config(out, out)
    layout, mid = Layout(out), model_id(cfg.model)
    assert sum(b["rows"] for b in indexed_batches(layout, mid, cfg.sampling.id)) > 100
    con = open_archive(cfg)
    try:
        frames = (
            con.sql("SELECT video_id, t, embedding FROM frames ORDER BY video_id, t")
            .to_arrow_table()
            .to_pylist()
        )
        recalls = []
        for probe in frames[::15]:
            q = np.asarray(probe["embedding"], np.float32)
            exact = search_frames(con, layout, mid, cfg.sampling.id, q, 10, exact=True)
            indexed = search_frames(con, layout, mid, cfg.sampling.id, q, 10, exact=False)
            assert (indexed[0]["video_id"], indexed[0]["t"]) == (probe["video_id"], probe["t"])
            thumbs = frame_thumbnails(con, indexed)  # one query for all of them
            assert len(thumbs) == 10 and all(j[:2] == b"\xff\xd8" for j in thumbs.values())
            recalls.append(
                len(
                    {(r["video_id"], r["t"]) for r in exact}
                    & {(r["video_id"], r["t"]) for r in indexed}
                )
                / 10
            )
    finally:
        con.close()
    assert np.mean(recalls) >= 0.95


def test_the_index_adds_new_batches_and_skips_a_compacted_one(out, tmp_path):
    work = copy_of(out, tmp_path)
    cfg = tiny_config(work, work)
    layout, mid, sid = Layout(work), model_id(cfg.model), cfg.sampling.id
    (batch,) = Layout.batch_files(layout.frames_dir(mid, sid))
    assert extend_index(layout, mid, sid)[0] == 0  # nothing new
    copy = batch.with_name("batch-99990101T000000000000-copy.parquet")
    copy.write_bytes(batch.read_bytes())
    rows = pq.ParquetFile(batch).metadata.num_rows
    assert extend_index(layout, mid, sid) == (1, 2 * rows)
    copy.unlink()  # as compaction does
    assert extend_index(layout, mid, sid) == (0, rows)
    assert [b["live"] for b in indexed_batches(layout, mid, sid)] == [True, False]
    con = open_archive(cfg)
    try:
        q = np.asarray(con.sql("SELECT embedding FROM frames LIMIT 1").fetchall()[0][0])
        hits = search_frames(con, layout, mid, sid, q.astype(np.float32), 5, exact=False)
    finally:
        con.close()
    assert len(hits) == 5 and len({(h["video_id"], h["t"]) for h in hits}) == 5


def test_similar_frames_through_the_index_match_the_exact_scan_of_other_videos(out):
    from reelcat.search.index import similar_frames

    cfg = tiny_config(out, out)
    layout, mid, sid = Layout(out), model_id(cfg.model), cfg.sampling.id
    con = open_archive(cfg)
    try:
        indexed = similar_frames(con, layout, mid, sid, "beach_fire.mp4", 4.0, 8, exact=False)
        exact = similar_frames(con, layout, mid, sid, "beach_fire.mp4", 4.0, 8, exact=True)
        (vid,) = con.execute(
            "SELECT video_id FROM video_names WHERE file_name = 'beach_fire.mp4'"
        ).fetchall()[0]
    finally:
        con.close()
    keys = [(h["video_id"], h["t"]) for h in indexed]
    assert vid not in {v for v, _ in keys} and len(keys) == 8
    assert len(set(keys) & {(h["video_id"], h["t"]) for h in exact}) >= 7
