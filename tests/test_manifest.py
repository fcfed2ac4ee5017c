"""Archive scan and ffprobe: metadata, fingerprints, and bad files as error rows."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest

from reelcat.ingest.manifest import (
    RootProblem,
    build_manifest,
    fingerprint,
    probe_video,
    scan_roots,
)

from .conftest import ffprobe_calls, lavfi_video


def test_scan_finds_videos_recursively_and_ignores_other_files(small_archive):
    files, problems = scan_roots([small_archive])
    assert problems == []
    names = sorted(p.name for p in files)
    assert names == [
        "bars.mp4",
        "empty.mp4",
        "notes.mp4",
        "red.webm",
        "testsrc.mp4",
        "truncated.mp4",
    ]


def test_a_missing_or_empty_root_is_reported_not_scanned_as_empty(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not a video")
    files, problems = scan_roots([tmp_path / "nowhere", tmp_path / "empty"])
    assert files == []
    assert problems == [
        RootProblem(str(tmp_path / "nowhere"), "missing"),
        RootProblem(str(tmp_path / "empty"), "empty"),
    ]


def test_bad_files_are_error_rows_with_reasons(small_archive):
    table = build_manifest([small_archive]).table
    rows = {r["path"].rsplit("/", 1)[-1]: r for r in table.to_pylist()}
    assert rows["empty.mp4"]["error"] == "empty file (0 bytes)"
    assert rows["notes.mp4"]["status"] == "error" and "Invalid data" in rows["notes.mp4"]["error"]
    assert rows["truncated.mp4"]["status"] == "error"
    ok = rows["red.webm"]
    assert (ok["status"], ok["codec"], ok["width"], ok["height"]) == ("ok", "vp9", 320, 240)
    assert ok["fps"] == pytest.approx(15.0)
    assert ok["duration"] == pytest.approx(6.0, abs=0.1)


def test_rotated_video_reports_rotation_and_display_size(tmp_path):
    src = lavfi_video(tmp_path / "src.mp4", "testsrc2", duration=2, size="320x180")
    rotated = tmp_path / "rotated.mp4"
    import subprocess

    from reelcat.tools import ffmpeg_path

    subprocess.run(
        [
            ffmpeg_path(),
            "-v",
            "error",
            "-display_rotation",
            "90",
            "-i",
            str(src),
            "-c",
            "copy",
            str(rotated),
        ],
        check=True,
    )
    row = probe_video(rotated)
    assert row.rotation in (90, 270)
    assert (row.width, row.height) == (180, 320)


def test_fingerprint_is_stable_when_a_file_moves_and_changes_with_content(small_archive, tmp_path):
    moved = tmp_path / "elsewhere.mp4"
    shutil.copy(small_archive / "testsrc.mp4", moved)
    assert fingerprint(moved) == fingerprint(small_archive / "testsrc.mp4")
    assert fingerprint(small_archive / "sub" / "bars.mp4") != fingerprint(moved)


def test_a_rescan_probes_only_new_changed_and_failed_files(small_archive, tmp_path):
    from reelcat.storage.schemas import MANIFEST

    archive = tmp_path / "archive"
    shutil.copytree(small_archive, archive)
    first = build_manifest([archive], None, MANIFEST)
    assert len(first.probed) == 6  # three good files, three bad ones

    before = len(ffprobe_calls())
    again = build_manifest([archive], first.table, MANIFEST)
    probed = ffprobe_calls()[before:]
    # only the files that failed are read again (errors are retried every run)
    assert sorted(p.rsplit("/", 1)[-1] for p in again.probed) == [
        "empty.mp4",
        "notes.mp4",
        "truncated.mp4",
    ]
    assert again.unchanged == 3 and not any("testsrc" in c or "red.webm" in c for c in probed)
    assert again.table.equals(first.table)

    # a changed file is probed again; a moved one keeps its id without a probe; a
    # deleted one is kept, status 'missing', for keep_missing_days
    lavfi_video(archive / "red.webm", "color=c=blue", duration=3, rate=15)
    (archive / "testsrc.mp4").rename(archive / "renamed.mp4")
    (archive / "sub" / "bars.mp4").unlink()
    third = build_manifest([archive], again.table, MANIFEST)
    rows = {r["path"].rsplit("/", 1)[-1]: r for r in third.table.to_pylist()}
    old = {r["path"].rsplit("/", 1)[-1]: r for r in again.table.to_pylist()}
    assert "red.webm" in {p.rsplit("/", 1)[-1] for p in third.probed}
    assert rows["red.webm"]["duration"] == pytest.approx(3.0, abs=0.1)
    assert rows["red.webm"]["video_id"] != old["red.webm"]["video_id"]
    assert [p.rsplit("/", 1)[-1] for p in third.moved] == ["renamed.mp4"]
    assert rows["renamed.mp4"]["video_id"] == old["testsrc.mp4"]["video_id"]
    assert "testsrc.mp4" not in rows and third.missing == [str(archive / "sub" / "bars.mp4")]
    assert rows["bars.mp4"]["status"] == "missing"
    assert rows["bars.mp4"]["error"] == "the file is no longer under its archive root"
    assert rows["bars.mp4"]["video_id"] == old["bars.mp4"]["video_id"]
    since = rows["bars.mp4"]["missing_since"]
    later = build_manifest([archive], third.table, MANIFEST, now=since + timedelta(days=29))
    (kept,) = [r for r in later.table.to_pylist() if r["path"].endswith("bars.mp4")]
    assert kept["status"] == "missing" and kept["missing_since"] == since
    gone = build_manifest([archive], later.table, MANIFEST, now=since + timedelta(days=31))
    assert gone.expired == [str(archive / "sub" / "bars.mp4")]
    assert not [r for r in gone.table.to_pylist() if r["path"].endswith("bars.mp4")]
