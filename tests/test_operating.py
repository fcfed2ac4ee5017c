"""Operating it safely: runs that cannot collide, files others can read (issue 17)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pyarrow as pa

from reelcat.storage.parquet import BatchWriter, write_bytes_atomic, write_table

from .conftest import REPO, ffmpeg_calls


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
