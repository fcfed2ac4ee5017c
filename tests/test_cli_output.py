"""What the CLI prints for people and for programs (issue 19, "a CLI that reads well"):
`reelcat run`'s progress and summary, `reelcat sql`'s tables and formats, `reelcat
about`'s timeline, `reelcat groups`' counts, the terminal review's single keys, help on
every option, and `reelcat synth`'s progress. Each runs the real CLI in its own process."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import select
import subprocess
import sys
import time

import numpy as np
import pytest

from catalog.build import open_catalog
from orchestration.cli import _failed_checks, _tag_of, build_parser
from orchestration.result_tables import rounded
from orchestration.terminal_pictures import half_blocks

from .conftest import REPO, copy_of, run_cli, store


def test_rounded_keeps_about_four_significant_digits():
    assert [rounded(x) for x in (1 / 3, 12.3456, 123456.789, 9.0, 0.5, -2 / 3)] == [
        "0.3333",
        "12.35",
        "123457",
        "9.0",
        "0.5",
        "-0.6667",
    ]
    assert [rounded(x) for x in (1.5e-7, 2.5e17, 0.0, float("nan"))] == [
        "1.5e-07",
        "2.5e+17",
        "0.0",
        "nan",
    ]


def test_sql_prints_each_statement_with_every_column_and_rounded_numbers(catalogued):
    out, _ = catalogued
    code, stdout, stderr = run_cli(
        "sql", "--out", str(out), "select 1/3 as third, 'x' as s; select 2 as two"
    )
    assert code == 0 and stderr == ""
    first, second = stdout.split("\n\n")
    assert "│ third  │    s    │" in first and "│ 0.3333 │ x       │" in first
    assert "0.33333" not in stdout
    assert "│   two   │" in second and re.search(r"│\s+2 │", second)

    # a wide table: every column, however wide the table gets (DuckDB's own box hid
    # the middle ones behind "…", the verdict column among them)
    code, stdout, _ = run_cli("sql", "--out", str(out), "select * from verdicts")
    assert code == 0
    header = stdout.splitlines()[1]
    con = open_catalog(out)
    columns = [name for name, *_ in con.execute("DESCRIBE verdicts").fetchall()]
    con.close()
    assert [n.strip() for n in header.strip("│").split("│")] == columns
    assert "verdict" in columns and len(columns) > 12

    # an embedding is cut, the row is not
    code, stdout, _ = run_cli("sql", "--out", str(out), "select t, embedding, frame from frames")
    assert code == 0
    row = stdout.splitlines()[4]  # the first row, under the names, types and a rule
    assert "…" in row and row.endswith("│") and re.search(r"│\s+0 │$", row)


def test_sql_limits_a_table_to_max_rows_and_says_so(catalogued):
    out, _ = catalogued
    query = "select range as n from range(10)"
    code, stdout, _ = run_cli("sql", "--out", str(out), "--max-rows", "3", query)
    assert code == 0
    rows = [ln for ln in stdout.splitlines() if re.match(r"│\s+\d+ │", ln)]
    assert [int(row.strip("│ ")) for row in rows] == [0, 1, 2]
    assert "(the first 3 rows: --max-rows N shows more)" in stdout
    code, stdout, _ = run_cli("sql", "--out", str(out), "select 1 as n where false")
    assert code == 0 and stdout.rstrip().endswith("0 rows")


def test_sql_formats_for_programs_are_exact(catalogued):
    out, _ = catalogued
    query = "select 1/3 as third, 'a,b' as s, null as nothing, [1.5, 2.25] as l; select 2 as two"
    code, stdout, _ = run_cli("sql", "--out", str(out), "--format", "csv", query)
    assert code == 0
    first, second = stdout.split("\n\n")
    assert list(csv.reader(io.StringIO(first))) == [
        ["third", "s", "nothing", "l"],
        ["0.3333333333333333", "a,b", "", "[1.50, 2.25]"],
    ]
    assert second == "two\n2\n"

    code, stdout, _ = run_cli("sql", "--out", str(out), "--format", "json", query)
    assert code == 0
    assert [json.loads(line) for line in stdout.splitlines()] == [
        [{"third": 1 / 3, "s": "a,b", "nothing": None, "l": [1.5, 2.25]}],
        [{"two": 2}],
    ]

    code, stdout, _ = run_cli(
        "sql", "--out", str(out), "--format", "markdown", "select 1/3 as third, 'a|b' as s"
    )
    assert code == 0
    assert stdout.splitlines() == ["| third | s |", "| ---: | --- |", "| 0.3333 | a\\|b |"]


def test_about_bins_follow_the_sampling_and_a_time_axis_runs_below(out):
    code, stdout, _ = run_cli("about", "--out", str(out), "beach_fire.mp4")
    assert code == 0 and stdout.startswith("beach_fire.mp4  (30.0 s)")
    # a frame a second over 30 s: 30 bins of 1 s, not 40 of 0.75 s (a comb of empty bins)
    assert "timeline, 30 bins of 1.0 s" in stdout
    lines = stdout.splitlines()
    strips = {ln.split("|")[0].strip(): ln.split("|")[1] for ln in lines if ln.endswith("|")}
    assert all(len(s) == 30 for s in strips.values())
    assert " " not in strips["beach"][:12]  # the first beach shot, 12 s: every bin drawn
    axis = lines[-1]
    start = lines[-2].index("|") + 1  # under the strips' first bin
    assert axis[start:].startswith("0s        10s       20s") and axis.endswith("30.0s")
    assert len(axis) == start + 30

    # asked for fewer bins, a bin holds several frames
    code, stdout, _ = run_cli("about", "--out", str(out), "--bins", "3", "beach_fire.mp4")
    assert code == 0 and "timeline, 3 bins of 10.0 s" in stdout


def test_groups_count_within_the_archive_and_name_the_tag_they_match(out):
    code, stdout, stderr = run_cli("groups", "--out", str(out))
    assert code == 0, stderr
    groups = re.findall(
        r"^group \d+: (\d+) look-alike frames in \d+ videos \(cohesion [\d.]+\)\n"
        r"    naming it would label (\d+) frames( and \d+ like them elsewhere in the archive)?"
        r"(, and ask about \d+ more that look somewhat alike)?$",
        stdout,
        re.MULTILINE,
    )
    assert groups, stdout
    # the name labels the group's own frames (no more than it has), others only as "elsewhere"
    assert all(int(labelled) <= int(size) for size, labelled, *_ in groups)
    for size, tag, tagged in re.findall(
        r"^group \d+: (\d+) .*\n.*\n    it matches the tag '(.+)': (\d+) of its (?:\d+) frames",
        stdout,
        re.MULTILINE,
    ):
        assert 2 * int(tagged) >= int(size), tag

    # the tag a group matches: the catalogue's own labels of its frames
    con = open_catalog(out)
    rows = con.execute(
        "SELECT f.video_id, f.t, f.frame FROM frames f JOIN video_names n USING (video_id) "
        "WHERE n.file_name = 'beach_fire.mp4' AND f.t < 12 ORDER BY f.t"
    ).fetchall()
    ((labelled,),) = con.execute(
        "SELECT count(*) FROM labels_final l JOIN video_names n USING (video_id) "
        "WHERE n.file_name = 'beach_fire.mp4' AND l.t < 12 AND l.tag = 'beach' AND l.label"
    ).fetchall()
    assert _tag_of(con, rows) == ("beach", labelled)
    con.close()


def test_failed_asset_checks_are_listed_with_their_reason():
    import dagster as dg

    class Result:  # what `reelcat run` reads of Dagster's result
        def get_asset_check_evaluations(self):
            key = dg.AssetKey("video_frames")
            return [
                dg.AssetCheckEvaluation(asset_key=key, check_name="ok_one", passed=True),
                dg.AssetCheckEvaluation(
                    asset_key=key,
                    check_name="every_ok_video_has_frames",
                    passed=False,
                    description="2 videos have no frames",
                ),
            ]

    assert _failed_checks(Result()) == [
        "check every_ok_video_has_frames on video_frames failed: 2 videos have no frames"
    ]


def test_a_frame_drawn_in_half_blocks_keeps_its_shape_and_colours():
    from PIL import Image

    image = Image.new("RGB", (320, 180), (200, 10, 10))
    image.paste((10, 10, 200), (0, 90, 320, 180))  # the lower half blue
    lines = half_blocks(image, 48)
    assert len(lines) == 14 and all(line.count("▀") == 48 for line in lines)  # 48 x 28 px
    assert lines[0].count("38;2;200;10;10m") == 48 and "48;2;10;10;200m" in lines[-1]


def test_every_option_has_help():
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    missing = [
        f"{name} {action.option_strings or action.dest}"
        for name, command in sub.choices.items()
        for action in command._actions
        if not action.help
    ]
    assert missing == []


def test_synth_says_each_video_as_it_is_made(tmp_path):
    code, stdout, stderr = run_cli("synth", "--videos", "2", "--seed", "3", "--out", str(tmp_path))
    assert code == 0, stderr
    lines = stderr.splitlines()
    assert lines[0].startswith("  · synth            1/2 videos, ETA ")
    assert lines[1].startswith("  · synth            2/2 videos  (v001_")
    assert lines[2].startswith("  ✓ synth            2 videos in ")
    assert stdout.startswith("reelcat: wrote a synthetic archive of 2 videos")


def _until(fd: int, text: bytes, seen: bytearray, timeout: float = 120) -> None:
    """Read `fd` into `seen` until `text` appears in it."""
    end = time.monotonic() + timeout
    while text not in seen:
        assert time.monotonic() < end, seen.decode(errors="replace")
        if select.select([fd], [], [], 1)[0]:
            seen += os.read(fd, 65536)


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal")
def test_the_terminal_review_takes_single_keys(out, tmp_path):
    """On a terminal a key press is the answer: no Enter (stdin a pseudo-terminal)."""
    from reelcat.feedback.verdicts import log

    work = copy_of(out, tmp_path)
    con = store(work)
    before = len(log(con))
    con.close()
    primary, secondary = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "review", "--out", str(work), "-n", "3"],
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=REPO,
    )
    os.close(secondary)
    seen = bytearray()
    try:
        _until(proc.stdout.fileno(), b"[1/3] Is this", seen)
        _until(proc.stdout.fileno(), b"\n> ", seen)
        os.write(primary, b"n")  # no newline
        _until(proc.stdout.fileno(), b"[2/3] Is this", seen)
        _until(proc.stdout.fileno(), b"\n> ", seen)
        os.write(primary, b"q")
        assert proc.wait(timeout=120) == 0
    finally:
        proc.kill()
        os.close(primary)
    said = seen.decode() + proc.stdout.read().decode()
    assert "> n\n    recorded; " in said and "reelcat: 1 answers recorded" in said
    # the picture's path is printed with the question (stdout is no terminal: no drawing)
    assert re.search(r"^    /\S+\.jpg$", said, re.MULTILINE)
    con = store(work)
    assert [r["verdict"] for r in log(con)[before:]] == ["no"]
    con.close()


def test_run_shows_progress_and_ends_with_a_summary(small_archive, tmp_path, monkeypatch):
    """A run as on a fresh machine (no Ray token, token mode not chosen): Ray says
    nothing; the stages and each embedded video are lines on stderr (no terminal), and
    stdout ends with what was catalogued and what to try next."""
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    out = tmp_path / "out"
    code, stdout, stderr = run_cli("run", "--archive", str(small_archive), "--out", str(out))
    assert code == 0, stderr[-3000:]
    assert "Token authentication" not in stderr and "Ray" not in stderr
    lines = stderr.splitlines()
    assert any(ln.startswith("  ✓ video_manifest   in ") for ln in lines)
    # the manifest step's warnings, one per file it cannot read
    assert len([ln for ln in lines if ln.startswith("  video_manifest: ")]) == 3
    embedded = [ln for ln in lines if ln.startswith("  · video_frames ")]
    assert [re.search(r" (\d)/3 videos, ", ln).group(1) for ln in embedded] == ["1", "2", "3"]
    assert "frames/s" in embedded[0] and "ETA" in embedded[0] and "ETA" not in embedded[-1]
    assert any(ln.startswith("  ✓ video_frames     3/3 videos, ") for ln in lines)
    assert any(re.match(r"  ✓ checks           \d+ passed in ", ln) for ln in lines)
    assert "{'" not in stdout  # no metadata dicts

    summary = stdout[stdout.index("\nreelcat: catalogued") :]
    assert "reelcat: catalogued 3 videos in " in summary and "(3 new, 0 unchanged)" in summary
    assert "3 files could not be read: reelcat sql " in summary
    assert re.search(r"  all \d+ checks passed", summary)
    assert f"  catalogue: {out}/catalog.duckdb" in summary
    assert re.search(rf"\n  reelcat about \S+ --out {out} +what a video is about", summary)
    frames = open_catalog(out).execute("SELECT count(*) FROM frames").fetchone()[0]
    assert f"  {frames} frames, {frames} of them new (" in summary
    assert np.isfinite(float(re.search(r"\(([\d.]+) frames/s\)", summary).group(1)))
