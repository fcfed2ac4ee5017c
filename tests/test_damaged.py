"""A damaged file (issue 17, item 6): catalogued from the frames that decode, marked
'damaged' with ffmpeg's error count and first error, everywhere a video's state shows.

A real H.264 mp4 with 60 KB of random bytes (fixed seed) over its middle, catalogued by
the Dagster graph on local Ray beside a good file.
"""

from __future__ import annotations

import http.client
import threading
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from catalog.build import open_catalog
from reelcat.ingest.frames import Chunk
from reelcat.ingest.pipeline import EmbedReport, _keep_damage, _note_damage
from reelcat.ingest.workers import EmbeddedChunk
from reelcat.storage.layout import Layout
from reelcat.web.app import make_server

from .conftest import copy_of, ffmpeg_calls, lavfi_video, materialize, run_cli, tiny_config
from .test_frames import damage_middle


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory, ray_local) -> tuple[Path, Path]:
    archive = tmp_path_factory.mktemp("damaged_archive")
    lavfi_video(archive / "good.mp4", "smptebars", duration=8, gop=25)
    source = lavfi_video(tmp_path_factory.mktemp("source") / "clip.mp4", "testsrc2", duration=10)
    damage_middle(source, archive / "damaged.mp4")
    out = tmp_path_factory.mktemp("damaged_out")
    materialize(archive, out)
    return archive, out


def summaries(out: Path) -> dict[str, dict]:
    con = open_catalog(out)
    try:
        cur = con.execute("SELECT * FROM video_summaries")
        names = [d[0] for d in cur.description]
        return {
            r[names.index("file_name")]: dict(zip(names, r, strict=True)) for r in cur.fetchall()
        }
    finally:
        con.close()


def test_a_damaged_video_is_catalogued_damaged_from_the_frames_that_decoded(catalogue):
    _, out = catalogue
    rows = summaries(out)
    bad, good = rows["damaged.mp4"], rows["good.mp4"]
    assert bad["status"] == "damaged"
    assert bad["decode_errors"] > 20
    assert "Invalid NAL unit size" in bad["first_decode_error"]
    damage = f"damaged: {bad['decode_errors']} decode errors, first: {bad['first_decode_error']}"
    assert bad["damage"] == damage
    # its frames are used: summarised (testsrc2 is none of the tiny model's concepts)
    assert bad["frames"] == 10
    assert bad["about"] == f"nothing recognised with confidence [{damage}]"
    assert good["status"] == "ok" and good["decode_errors"] == 0
    assert good["first_decode_error"] is None and good["damage"] is None
    assert "damaged" not in good["about"]
    con = open_catalog(out)
    try:
        vid = bad["video_id"]
        # a damaged video is not a failed one: nothing in frame_errors, and every reader
        # of the frames (tags, moderation) has it
        assert con.execute("SELECT count(*) FROM frame_errors").fetchone()[0] == 0
        for table in ("frames", "frame_tags", "video_risk"):
            n = con.execute(f"SELECT count(*) FROM {table} WHERE video_id = ?", [vid]).fetchone()
            assert n[0] > 0, table
        times = [
            t
            for (t,) in con.execute(
                "SELECT t FROM frames WHERE video_id = ? ORDER BY t", [vid]
            ).fetchall()
        ]
    finally:
        con.close()
    # real timestamps: one frame per 1 s bin, the damaged bin's the first that decoded
    assert [int(t) for t in times] == list(range(10))
    assert any(t - int(t) > 0.1 for t in times), times


def test_the_damage_is_stored_per_video_beside_its_frames(catalogue):
    _, out = catalogue
    con = open_catalog(out)
    try:
        model_id, sampling_id = con.execute(
            "SELECT model_id, sampling_id FROM catalog_settings"
        ).fetchone()
    finally:
        con.close()
    layout = Layout(out)
    rows = pq.read_table(layout.frame_damage(model_id, sampling_id)).to_pylist()
    frames_folder = layout.frames_dir(model_id, sampling_id)
    assert Layout.damage_file(frames_folder) == layout.frame_damage(model_id, sampling_id)
    # the frames folder holds batch files only (a reader may take it as one dataset)
    assert sorted(frames_folder.glob("*")) == Layout.batch_files(frames_folder)
    assert [(r["path"].rsplit("/", 1)[-1], r["kind"]) for r in rows] == [("damaged.mp4", "damaged")]
    assert rows[0]["decode_errors"] == summaries(out)["damaged.mp4"]["decode_errors"]


def test_review_queue_prints_the_damage_line(catalogue):
    _, out = catalogue
    code, stdout, stderr = run_cli("review-queue", "--out", str(out), "--all")
    assert code == 0, stderr
    bad = summaries(out)["damaged.mp4"]
    lines = stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if " damaged.mp4  [" in line)
    shown = [line.strip() for line in lines[at + 1 :] if line.startswith("        ")]
    assert shown[0] == bad["damage"]
    assert stdout.count("damaged: ") == 1  # not under good.mp4


def test_the_review_pages_show_the_damage(catalogue):
    archive, out = catalogue
    rows = summaries(out)
    srv = make_server(tiny_config(archive, out))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:

        def get(path: str) -> str:
            con = http.client.HTTPConnection(*srv.server_address[:2], timeout=30)
            try:
                con.request("GET", path)
                resp = con.getresponse()
                assert resp.status == 200, path
                return resp.read().decode()
            finally:
                con.close()

        bad, good = rows["damaged.mp4"], rows["good.mp4"]
        page = get(f"/video/{bad['video_id']}")
        assert '<p class="notice" id="damage">' in page
        assert f"damaged: {bad['decode_errors']} decode errors, first: " in page
        assert 'id="damage"' not in get(f"/video/{good['video_id']}")
        archive_page = get("/")
        assert archive_page.count('data-damaged="1"') == 1
        assert f"damaged: {bad['decode_errors']} decode errors" in archive_page
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def test_the_damage_outlives_a_rerun_that_decodes_nothing(catalogue, tmp_path):
    archive, out = catalogue
    work = copy_of(out, tmp_path)
    before = ffmpeg_calls()
    materialize(archive, work)
    assert ffmpeg_calls() == before  # nothing decoded again
    again, first = summaries(work)["damaged.mp4"], summaries(out)["damaged.mp4"]
    assert again["status"] == "damaged"
    assert again["decode_errors"] == first["decode_errors"]


def test_decode_errors_make_a_video_damaged_or_failed(tmp_path):
    """Per video, over its chunks (in any order): frames and errors make it damaged (a
    frame_damage row, the first error of the earliest chunk); errors and not one frame
    make it failed; a video decoded again loses its old row."""

    def part(index: int, frames: int, errors: int, first: str | None) -> EmbeddedChunk:
        chunk = Chunk("v", "/a/v.mp4", index * 32.0, 32.0, index)
        return EmbeddedChunk(
            chunk, np.zeros(frames), [], None, None, None, None, 0.1, errors, first
        )

    folder = Layout(tmp_path).frames_dir("model", "sampling")
    damage_file = Layout.damage_file(folder)
    report = EmbedReport()
    parts = [part(1, 3, 5, "h264: later"), part(0, 2, 2, "h264: first"), part(2, 4, 0, None)]
    _note_damage(report, folder, "v", parts, frames=9)
    assert report.damaged["v"]["error"] == "7 decode errors, first: h264: first"
    rows = pq.read_table(damage_file).to_pylist()
    assert [(r["video_id"], r["kind"], r["decode_errors"]) for r in rows] == [("v", "damaged", 7)]
    _note_damage(report, folder, "w", [part(0, 0, 1, "moov atom not found")], frames=0)
    assert report.errors == {"w": "no frame decoded: 1 decode error, first: moov atom not found"}
    assert "w" not in report.damaged
    _note_damage(report, folder, "x", [part(0, 5, 0, None)], frames=5)  # clean: nothing
    assert [r["video_id"] for r in pq.read_table(damage_file).to_pylist()] == ["v"]
    _keep_damage(damage_file, drop={"v"})  # decoded again
    assert pq.read_table(damage_file).num_rows == 0
