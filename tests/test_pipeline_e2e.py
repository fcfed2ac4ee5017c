"""The whole graph, materialised by Dagster with local Ray, on real encoded videos."""

from __future__ import annotations

import shutil

import pyarrow.parquet as pq
import pytest

from catalog.build import open_catalog
from reelcat.tagging.vocabulary import load_vocabulary

from .conftest import REPO, copy_of, ffmpeg_calls, materialize, run_cli


def test_manifest_has_good_videos_and_error_rows(catalogued):
    out, _ = catalogued
    rows = {
        r["path"].rsplit("/", 1)[-1]: r for r in pq.read_table(out / "manifest.parquet").to_pylist()
    }
    assert set(rows) == {
        "testsrc.mp4",
        "red.webm",
        "bars.mp4",
        "empty.mp4",
        "notes.mp4",
        "truncated.mp4",
    }
    assert rows["testsrc.mp4"]["status"] == "ok"
    assert rows["testsrc.mp4"]["duration"] == pytest.approx(9.0, abs=0.05)
    assert (rows["testsrc.mp4"]["width"], rows["testsrc.mp4"]["height"]) == (320, 240)
    assert rows["red.webm"]["codec"] == "vp9"
    assert rows["empty.mp4"]["status"] == "error"
    assert rows["empty.mp4"]["error"] == "empty file (0 bytes)"
    assert "Invalid data found" in rows["notes.mp4"]["error"]
    assert rows["truncated.mp4"]["status"] == "error"
    assert "ffprobe could not read" in rows["truncated.mp4"]["error"]


def test_frames_follow_the_sampling_with_real_timestamps(catalogued):
    out, _ = catalogued
    con = open_catalog(out)
    times = dict(
        con.execute(
            "SELECT m.file_name, list(f.t ORDER BY f.t) FROM frames f "
            "JOIN manifest m USING (video_id) GROUP BY ALL"
        ).fetchall()
    )
    # one frame per second (the bundled config): keyframes where dense enough (testsrc has
    # one every second), a full decode where not (bars: one keyframe every 2 s).
    assert times["testsrc.mp4"] == pytest.approx([float(i) for i in range(9)], abs=0.02)
    assert times["bars.mp4"] == pytest.approx([0.0, 1.0, 2.0, 3.0, 4.0], abs=0.05)
    assert times["red.webm"] == pytest.approx([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], abs=0.07)
    dims = con.execute("SELECT DISTINCT len(embedding) FROM frames").fetchall()
    assert dims == [(64,)]
    smallest, not_jpeg = con.execute(
        "SELECT min(octet_length(thumbnail)), "
        "count(*) FILTER (thumbnail[1:2] != '\\xFF\\xD8'::BLOB) "
        "FROM frames"
    ).fetchone()
    assert smallest > 200 and not_jpeg == 0  # a real JPEG per frame


def test_every_frame_has_every_tag_with_model_and_vocabulary_ids(catalogued):
    out, _ = catalogued
    con = open_catalog(out)
    vocab = load_vocabulary(REPO / "reelcat/vocabularies/synthetic.yaml")
    n_frames = con.execute("SELECT count(*) FROM frames").fetchone()[0]
    n_rows, n_vocab_ids, ranks = con.execute(
        "SELECT count(*), count(DISTINCT vocabulary_id), max(rank) FROM frame_tags"
    ).fetchone()
    assert n_frames == 9 + 5 + 6
    assert n_rows == n_frames * len(vocab.tags)
    assert n_vocab_ids == 1 and ranks == len(vocab.tags)
    (model_id,) = con.execute("SELECT DISTINCT model_id FROM frame_tags").fetchone()
    assert model_id.startswith("reelcat-tiny-clip@reelcat-tiny-clip-")


def test_catalogue_tables_hold_the_archive(catalogued):
    out, _ = catalogued
    con = open_catalog(out)
    freq = con.execute("SELECT count(*), sum(videos) FROM tag_frequencies").fetchone()
    assert freq[0] == len(load_vocabulary(REPO / "reelcat/vocabularies/synthetic.yaml").tags)
    about = dict(con.execute("SELECT file_name, about FROM video_summaries").fetchall())
    assert about["empty.mp4"] == "not catalogued: empty file (0 bytes)"
    assert about["truncated.mp4"].startswith("not catalogued: ffprobe could not read")
    assert not about["testsrc.mp4"].startswith("not catalogued")
    # clean files (H.264, VP9) decode without an error: none is marked damaged
    # (a damaged one: tests/test_damaged.py)
    decoded = con.execute(
        "SELECT file_name, status, decode_errors FROM video_summaries "
        "WHERE status != 'error' ORDER BY file_name"
    ).fetchall()
    assert decoded == [("bars.mp4", "ok", 0), ("red.webm", "ok", 0), ("testsrc.mp4", "ok", 0)]


def test_rerun_over_unchanged_archive_decodes_nothing(catalogued, small_archive, tmp_path):
    out, first_calls = catalogued
    assert first_calls >= 3  # the first run really decoded the three good videos
    out = copy_of(out, tmp_path)
    before = ffmpeg_calls()
    materialize(small_archive, out)
    assert ffmpeg_calls() == before


def test_new_vocabulary_rescored_from_stored_embeddings(catalogued, small_archive, tmp_path):
    out = copy_of(catalogued[0], tmp_path)
    vocab = tmp_path / "two.yaml"
    vocab.write_text(
        "tags:\n  - {name: fire, prompts: [fire, flames]}\n"
        "  - {name: text slide, prompts: [text slide]}\n"
    )
    before = ffmpeg_calls()
    materialize(small_archive, out, vocabulary=str(vocab))
    assert ffmpeg_calls() == before
    con = open_catalog(out)
    tags = [r[0] for r in con.execute("SELECT DISTINCT tag FROM frame_tags ORDER BY 1").fetchall()]
    assert tags == ["fire", "text slide"]


def test_moved_file_is_not_decoded_again(catalogued, small_archive, tmp_path):
    out = copy_of(catalogued[0], tmp_path)
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.copy(small_archive / "testsrc.mp4", moved / "renamed.mp4")
    before = ffmpeg_calls()
    # the old root is no longer configured: its other videos leave only when accepted
    materialize(moved, out, accept_missing_roots=True)
    assert ffmpeg_calls() == before
    con = open_catalog(out)
    assert con.execute("SELECT count(*) FROM frames").fetchone()[0] == 9


def test_cli_sql_prints_rows_read_only(catalogued):
    out, _ = catalogued
    code, stdout, _ = run_cli(
        "sql", "--out", str(out), "select tag, videos from tag_frequencies order by tag limit 3"
    )
    assert code == 0
    assert "beach" in stdout and "blood" in stdout  # alphabetical first tags of the vocabulary
    code, _, stderr = run_cli("sql", "--out", str(out), "drop table tag_frequencies")
    assert code == 2
    assert stderr == "reelcat: refused: DROP drops objects; reelcat sql only reads\n"
    # more refusals, and reads outside the output folder: tests/test_sql_readonly.py


def test_cli_about_prints_summary_and_timeline(catalogued):
    out, _ = catalogued
    code, stdout, _ = run_cli("about", "--out", str(out), "testsrc.mp4")
    assert code == 0 and stdout.startswith("testsrc.mp4  (9.0 s)")
    code, _, stderr = run_cli("about", "--out", str(out), "nope.mp4")
    assert code == 2 and "no video 'nope.mp4'" in stderr


def test_cli_reports_a_missing_catalogue_clearly(tmp_path):
    code, _, stderr = run_cli("sql", "--out", str(tmp_path), "select 1")
    assert code == 2 and "no catalogue at" in stderr


def test_nightly_rerun_probes_only_changes_and_a_deleted_video_is_kept_as_missing(
    catalogued, small_archive, tmp_path
):
    from .conftest import ffprobe_calls

    out = copy_of(catalogued[0], tmp_path)
    archive = tmp_path / "archive"
    shutil.copytree(small_archive, archive)
    materialize(archive, out)  # the copy's paths: every file is new to the manifest once
    before = len(ffprobe_calls())
    (archive / "red.webm").unlink()
    materialize(archive, out)
    probed = ffprobe_calls()[before:]
    # only the two unreadable files are read again (errors are retried; an empty file
    # needs no ffprobe to fail)
    assert sorted(c.rsplit("/", 1)[-1] for c in probed) == ["notes.mp4", "truncated.mp4"]
    con = open_catalog(out)
    status = dict(con.execute("SELECT file_name, status FROM video_summaries").fetchall())
    assert status["red.webm"] == "missing" and status["testsrc.mp4"] == "ok"
    (about,) = con.execute(
        "SELECT about FROM video_summaries WHERE file_name = 'red.webm'"
    ).fetchone()
    assert about.endswith("[missing: the file is no longer under its archive root]")
    for table in ("frames", "frame_tags", "video_risk", "segments", "video_tags"):
        (left,) = con.execute(
            f"SELECT count(*) FROM {table} WHERE video_id NOT IN "
            "(SELECT video_id FROM manifest WHERE catalogued)"
        ).fetchall()[0]
        assert left == 0, table
    assert con.execute("SELECT count(*) FROM video_risk").fetchall()[0][0] == 3
