"""Operating it safely: runs that cannot collide, files others can read (issue 17)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys

import pyarrow as pa
import pytest

from catalog.build import open_catalog
from reelcat.storage.parquet import BatchWriter, write_bytes_atomic, write_table

from .conftest import REPO, copy_of, ffmpeg_calls, ffprobe_calls, run_cli


def test_two_runs_on_one_folder_take_turns_and_decode_once(small_archive, catalogued, tmp_path):
    _, one_run = catalogued  # ffmpeg calls one run of this archive takes
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "orchestration.cli", "run"]
    cmd += ["--archive", str(small_archive), "--out", str(out)]
    before = ffmpeg_calls()
    runs = [
        subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    waited = [err for _, err in outputs if "is being written by pid" in err]
    assert len(waited) == 1 and "; waiting" in waited[0]
    assert ffmpeg_calls() - before == one_run  # the second found every video embedded
    assert not list(out.glob(".*.tmp")) and not list(out.glob(".*.building"))


def test_files_are_written_with_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        table = pa.table({"a": [1, 2]})
        files = [
            write_table(table, tmp_path / "t.parquet"),
            write_bytes_atomic(tmp_path / "p.png", b"png"),
        ]
        writer = BatchWriter(tmp_path / "batches", table.schema)
        writer.write(table)
        files += writer.close()
        os.umask(0o002)
        files.append(write_table(table, tmp_path / "group.parquet"))
    finally:
        os.umask(old)
    modes = [stat.S_IMODE(f.stat().st_mode) for f in files]
    assert modes == [0o644, 0o644, 0o644, 0o664]


def test_a_catalogued_folder_is_readable_by_others(catalogued):
    out, _ = catalogued
    private = [
        str(p.relative_to(out))
        for p in out.rglob("*")
        if p.is_file() and not stat.S_IMODE(p.stat().st_mode) & 0o004
    ]
    assert private == []


def catalogue_counts(out) -> dict[str, object]:
    con = open_catalog(out)
    try:
        return {
            "videos": con.execute("SELECT count(*) FROM video_summaries").fetchone()[0],
            "frames": con.execute("SELECT count(*) FROM frames").fetchone()[0],
            "statuses": dict(
                con.execute("SELECT status, count(*) FROM manifest GROUP BY status").fetchall()
            ),
        }
    finally:
        con.close()


def test_an_emptied_or_unmounted_root_never_empties_the_catalogue(
    small_archive, catalogued, tmp_path
):
    out = copy_of(catalogued[0], tmp_path)
    archive = tmp_path / "archive"
    shutil.copytree(small_archive, archive)
    code, _, stderr = run_cli("run", "--archive", str(archive), "--out", str(out))
    assert code == 0, stderr
    before = catalogue_counts(out)
    assert before["statuses"] == {"ok": 3, "error": 3}

    # the disk is not mounted tonight: the same root, empty
    away = tmp_path / "away"
    archive.rename(away)
    archive.mkdir()
    code, _, stderr = run_cli("run", "--archive", str(archive), "--out", str(out))
    assert code == 1
    (said,) = [line for line in stderr.splitlines() if line.startswith("reelcat:")]
    assert f"archive root {archive} is empty (it held 3 catalogued videos" in said
    after = catalogue_counts(out)
    assert after["frames"] == before["frames"] and after["videos"] == before["videos"]
    assert after["statuses"] == {"missing": 3}
    con = open_catalog(out)
    reasons = {e for (e,) in con.execute("SELECT DISTINCT error FROM manifest").fetchall()}
    con.close()
    assert reasons == {f"its archive root {archive} is empty"}

    # another folder given by mistake: the old root is no longer one; the same guard
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code, _, stderr = run_cli("run", "--archive", str(elsewhere), "--out", str(out))
    assert code == 1 and "is no longer an archive root (it held" in stderr
    assert catalogue_counts(out)["frames"] == before["frames"]

    # mounted again: every video is back, unchanged, nothing probed or decoded again
    archive.rmdir()
    away.rename(archive)
    probes, decodes = len(ffprobe_calls()), ffmpeg_calls()
    code, _, stderr = run_cli("run", "--archive", str(archive), "--out", str(out))
    assert code == 0, stderr
    assert catalogue_counts(out) == before
    assert ffmpeg_calls() == decodes
    assert [c for c in ffprobe_calls()[probes:] if "testsrc" in c or "red.webm" in c] == []

    # gone for good, and the operator says so: they leave
    shutil.rmtree(archive)
    archive.mkdir()
    code, _, stderr = run_cli(
        "run", "--archive", str(archive), "--out", str(out), "--accept-missing-roots"
    )
    assert code == 0, stderr
    assert catalogue_counts(out) == {"videos": 0, "frames": 0, "statuses": {}}


def test_a_root_that_does_not_exist_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    code, _, stderr = run_cli("run", "--archive", str(tmp_path / "nowhere"), "--out", str(out))
    assert code == 1
    lines = [line for line in stderr.splitlines() if line.startswith("reelcat:")]
    assert lines == [
        f"reelcat: step video_manifest failed: archive root {tmp_path / 'nowhere'} is "
        "missing. Nothing else ran; the catalogue keeps what it knew. Mount or fix the "
        "root, or rerun with --accept-missing-roots if its videos are gone for good"
    ]


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_a_bad_configuration_is_one_line_before_anything_runs(small_archive, tmp_path, monkeypatch):
    out = tmp_path / "out"
    run = ["run", "--archive", str(small_archive)]
    code, _, stderr = run_cli(*run, "--out", str(out), "--model", "NoSuchModel")
    assert code == 2 and one_line(stderr).startswith("reelcat: model NoSuchModel")
    code, _, stderr = run_cli(*run, "--out", str(out), "--pretrained", str(tmp_path / "w.pt"))
    assert code == 2 and f"checkpoint file not found: {tmp_path / 'w.pt'}" in one_line(stderr)
    afile = tmp_path / "a-file"
    afile.write_text("")
    code, _, stderr = run_cli(*run, "--out", str(afile))
    assert (
        code == 2 and one_line(stderr) == f"reelcat: output folder {afile} is a file, not a folder"
    )
    code, _, stderr = run_cli(*run, "--out", "/proc/reelcat-out")
    assert code == 2 and "output folder /proc/reelcat-out cannot be written" in one_line(stderr)
    broken = tmp_path / "vocabulary.yaml"
    broken.write_text("tags:\n  - name: fire\n  - name: fire\n")
    monkeypatch.setenv("REELCAT_VOCABULARY", str(broken))
    code, _, stderr = run_cli(*run, "--out", str(out))
    assert code == 2 and one_line(stderr) == (
        f"reelcat: vocabulary: {broken}: tag 'fire' appears twice"
    )
    assert not (out / "manifest.parquet").exists()  # nothing ran
    # --debug shows the traceback
    code, _, stderr = run_cli(*run, "--out", str(afile), "--debug")
    assert code != 0 and "Traceback" in stderr


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB filesystem of its own (tmpfs; needs the right to mount, as root in CI)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)])
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_is_one_line_and_keeps_the_previous_catalogue(
    small_archive, catalogued, small_disk, monkeypatch
):
    out = small_disk / "out"
    shutil.copytree(catalogued[0], out)
    catalogue = (out / "catalog.duckdb").read_bytes()
    # the rest of the disk filled up: less room than rebuilding the catalogue takes
    free = shutil.disk_usage(small_disk).free
    (small_disk / "filler").write_bytes(b"\0" * (free - len(catalogue) // 2))
    run = ["run", "--archive", str(small_archive), "--out", str(out)]
    code, _, stderr = run_cli(*run)
    assert code == 2 and "a run needs at least 256 MB (min_free_mb)" in one_line(stderr)

    monkeypatch.setenv("REELCAT_MIN_FREE_MB", "0")  # past the check: the disk fills up
    code, _, stderr = run_cli(*run)
    assert code == 1
    (said,) = [line for line in stderr.splitlines() if line.startswith("reelcat:")]
    assert said.startswith(f"reelcat: step catalog failed: out of space in {out} writing the ")
    assert "the temporary files were removed and the previous files are unchanged" in said
    assert [p.name for p in out.iterdir() if ".building" in p.name or p.name.endswith(".tmp")] == []
    assert (out / "catalog.duckdb").read_bytes() == catalogue
    con = open_catalog(out)
    assert con.execute("SELECT count(*) FROM video_summaries").fetchone()[0] == 6
    con.close()
