"""A nightly run costs what changed: unchanged batches are not computed again, and the
per-video steps hold a few videos at a time whatever the archive's size."""

from __future__ import annotations

import shutil

import pyarrow.parquet as pq

from reelcat.moderation.step import write_moderation
from reelcat.storage.layout import Layout
from reelcat.summaries.step import write_summaries

from .conftest import copy_of, ffmpeg_calls, lavfi_video, materialize, tiny_config


def metadata(result, key: str) -> dict:
    """One asset's materialisation metadata of a Dagster run, as plain values."""
    (event,) = [
        e
        for e in result.get_asset_materialization_events()
        if e.event_specific_data.materialization.asset_key.to_user_string() == key
    ]
    return {k: v.value for k, v in event.event_specific_data.materialization.metadata.items()}


def test_a_new_video_is_one_new_batch_and_nothing_else_is_computed_again(
    catalogued, small_archive, tmp_path
):
    out = copy_of(catalogued[0], tmp_path)
    archive = tmp_path / "archive"
    shutil.copytree(small_archive, archive)
    materialize(archive, out)  # new paths for the manifest; every video known already
    layout = Layout(out)
    before = {p.name for p in layout.results_root.rglob("batch-*.parquet")}

    quiet = materialize(archive, out)  # a night with nothing new
    assert metadata(quiet, "tag_segments")["frame_batches_computed"] == 0
    assert metadata(quiet, "video_frames")["videos_embedded"] == 0
    assert metadata(quiet, "tag_adaptations")["refitted"] is False

    lavfi_video(archive / "new.mp4", "testsrc2", duration=4, gop=25)
    calls = ffmpeg_calls()
    night = materialize(archive, out)
    assert ffmpeg_calls() - calls >= 1  # the new video, decoded
    assert metadata(night, "video_frames")["videos_embedded"] == 1
    assert (
        metadata(night, "tag_segments")["frame_batches_computed"],
        metadata(night, "tag_segments")["frame_batches_kept"],
    ) == (1, 1)
    assert metadata(night, "tag_adaptations")["refitted"] is False  # 1 video: not 1.5x
    after = {p.name for p in layout.results_root.rglob("batch-*.parquet")}
    assert before <= after  # yesterday's results kept, under the same key
    summaries = {r["video_id"] for r in pq.read_table(layout.video_summaries).to_pylist()}
    assert len(summaries) == 4  # the three good videos and the new one


def test_results_in_small_chunks_equal_results_in_one(out, tmp_path, monkeypatch):
    """Memory is bounded by the chunk, not the archive: with chunks of ~one video each
    the tables come out the same."""
    work = copy_of(out, tmp_path)
    layout = Layout(work)
    tables = [layout.video_tags, layout.video_summaries, layout.video_risk]
    whole = [_sorted(pq.read_table(p)) for p in tables]
    shutil.rmtree(layout.results_root)
    monkeypatch.setattr("reelcat.tagging.scores.CHUNK_FRAMES", 25)
    cfg = tiny_config(work, work)
    chunks = []
    import reelcat.tagging.scores as scores

    real = scores.video_chunks

    def counting(*args, **kw):
        for chunk in real(*args, **kw):
            chunks.append(len(chunk))
            yield chunk

    monkeypatch.setattr("reelcat.summaries.step.video_chunks", counting)
    assert write_summaries(cfg).batches_computed == 1
    write_moderation(cfg)
    assert len(chunks) >= 4 and max(chunks) <= 2  # a video or two at a time
    assert [_sorted(pq.read_table(p)) for p in tables] == whole


def _sorted(table) -> list[dict]:
    return sorted(table.to_pylist(), key=lambda r: (r["video_id"], r.get("tag") or ""))


def test_small_frames_batches_are_merged_and_departed_videos_dropped(tmp_path):
    import numpy as np
    import pyarrow as pa

    from reelcat.ingest.compaction import COMPACT_AT, compact_frames
    from reelcat.storage.parquet import BatchWriter
    from reelcat.storage.schemas import FRAMES

    def batch(videos: list[str]) -> None:
        n = 3
        writer = BatchWriter(tmp_path, FRAMES)
        for v in videos:
            writer.write(
                pa.table(
                    {
                        "video_id": [v] * n,
                        "t": np.arange(n, dtype=float),
                        "frame": np.arange(n, dtype=np.int32),
                        "embedding": [[1.0, 0.0]] * n,
                        "brightness": np.ones(n, np.float32),
                        "contrast": np.ones(n, np.float32),
                        "thumbnail": [b"jpeg"] * n,
                        "model_id": ["m"] * n,
                        "sampling_id": ["s"] * n,
                    }
                )
            )
        writer.close()

    for night in range(COMPACT_AT - 1):
        batch([f"v{night}a", f"v{night}b"])
    assert compact_frames(tmp_path) == []  # not yet enough small files
    batch(["v7a", "gone"])
    written = compact_frames(tmp_path, pa.array([f"v{i}{s}" for i in range(8) for s in "ab"]))
    assert Layout.batch_files(tmp_path) == written and len(written) == 1
    merged = pq.read_table(written[0])
    assert merged.num_rows == 15 * 3 and "gone" not in merged["video_id"].to_pylist()
