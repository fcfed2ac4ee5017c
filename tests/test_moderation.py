"""Moderation on videos with known sensitive content: queue, clearing, heat map order."""

from __future__ import annotations

import io

import numpy as np
import pyarrow.parquet as pq
from PIL import Image

from catalog.build import open_catalog
from reelcat.pictures import NO_DATA_COLOUR, heatmap_layout, severity_colour
from reelcat.storage.layout import Layout


def test_six_seconds_of_blood_is_queued_with_a_range_covering_it(out):
    con = open_catalog(out)
    decision, ranges = con.execute(
        "SELECT decision, time_ranges FROM review_queue WHERE file_name = 'blood.mp4'"
    ).fetchone()
    assert decision == "review"
    blood = [r for r in ranges if r["concept"] == "blood"]
    assert blood and blood[0]["start"] <= 7.0 and blood[0]["end"] >= 11.0
    assert blood[0]["thumbnail"] and (out / blood[0]["thumbnail"]).exists()
    (position,) = con.execute(
        "SELECT position FROM review_queue WHERE file_name = 'blood.mp4'"
    ).fetchone()
    assert position == 1  # the riskiest video heads the queue


def test_a_single_high_scoring_frame_is_cleared(out):
    con = open_catalog(out)
    spike = con.execute(
        "SELECT g.score >= th.accept FROM frame_tags g JOIN video_names n USING (video_id) "
        "JOIN thresholds th USING (tag) WHERE n.file_name = 'spike.mp4' AND g.tag = 'blood' "
        "AND g.t = 8.0"
    ).fetchone()
    assert spike == (True,)  # the lone frame really scores as blood ...
    decision, evidence = con.execute(
        "SELECT decision, evidence FROM video_risk WHERE file_name = 'spike.mp4'"
    ).fetchone()
    assert decision == "clear"  # ... and the video is still cleared
    assert "no sensitive tag held" in evidence


def test_cleared_videos_are_listed_not_dropped(out):
    con = open_catalog(out)
    rows = dict(con.execute("SELECT file_name, decision FROM review_queue").fetchall())
    assert rows["city.mp4"] == "clear" and rows["black.mp4"] == "clear"
    assert len(rows) == 6  # every good video, cleared ones included


def test_heat_map_has_one_row_per_video_in_risk_order(out):
    con = open_catalog(out)
    order = [
        n for (n,) in con.execute("SELECT file_name FROM review_queue ORDER BY position").fetchall()
    ]
    png = Image.open(out / "pictures" / "heatmap.png").convert("RGB")
    layout = heatmap_layout(len(order), 48)
    pixels = np.asarray(png)

    def cell(i, j):
        x = int(layout["left"] + (j + 0.5) * layout["bin_width"])
        y = int(layout["top"] + (i + 0.5) * layout["row_height"] - layout["row_gap"] / 2)
        return tuple(int(c) for c in pixels[y, x])

    assert order[0] == "blood.mp4"
    peak = con.execute(
        "SELECT max(severity) FROM moderation_timeline WHERE file_name = 'blood.mp4'"
    ).fetchone()[0]
    row0 = [cell(0, j) for j in range(48)]
    assert severity_colour(peak) in row0  # the blood row shows its peak severity colour
    black = order.index("black.mp4")
    assert all(cell(black, j) == NO_DATA_COLOUR for j in range(48))  # only blank frames
    assert png.size[1] == layout["height"]


def test_review_queue_and_heatmap_commands(out, tmp_path):
    from .test_pipeline_e2e import run_cli

    code, stdout, _ = run_cli("review-queue", "--out", str(out))
    assert code == 0
    lines = stdout.splitlines()
    assert lines[0].endswith("cleared") and "1. blood.mp4  [review" in stdout
    picture = tmp_path / "heat.png"
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    code, stdout, stderr = run_cli("heatmap", "--out", str(out), "--png", str(picture))
    assert code == 0, stderr
    assert code == 0 and Image.open(io.BytesIO(picture.read_bytes())).format == "PNG"
    # it draws what the last run decided, and writes nothing in the output folder
    assert picture.read_bytes() == Layout(out).heatmap.read_bytes()
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before


def weapon_video(name, scores_from_8):
    from reelcat.tagging.scores import VideoFrames

    scores = np.full(20, 0.02, np.float32)
    scores[8 : 8 + len(scores_from_8)] = scores_from_8
    return VideoFrames(name, 20.0, np.arange(20.0), np.zeros(20, bool), {"weapon": scores})


def moderate_weapon(videos, **kw):
    from reelcat.moderation.moderate import moderate
    from reelcat.tagging.thresholds import Threshold

    th = {"weapon": Threshold("weapon", 0.5, 0.2, "archive")}
    return {r["video_id"]: r for r in moderate(videos, th, ["weapon"], interval=1.0, **kw).risk}


def test_a_sustained_needs_review_band_is_queued_a_brief_one_cleared():
    from reelcat.moderation.moderate import SUSTAINED_FRAMES

    # above review, never reaching the flag level
    risk = moderate_weapon(
        [
            weapon_video("held", [0.3] * SUSTAINED_FRAMES),
            weapon_video("brief", [0.3] * (SUSTAINED_FRAMES - 1)),
        ]
    )
    assert risk["held"]["decision"] == "review"
    assert risk["held"]["evidence"] == "weapon 8-11s peak 0.30 (needs review, held 3 frames)"
    assert risk["brief"]["decision"] == "clear"
    assert risk["brief"]["evidence"] == (
        "nothing both strong and long enough: weapon 8-10s peak 0.30 (needs review)"
    )


def test_min_seconds_clears_a_brief_flag_and_measures_a_weakly_seen_insert_whole():
    """min_seconds 4 at one frame a second (flag 0.5, review 0.2): 4 flagged frames queue;
    3 are listed as cleared with why, and queue without min_seconds; an insert seen
    strongly on 2 frames and weakly (above half the review level) on 3 more is one
    5-s segment, and queues."""
    videos = [
        weapon_video("four", [0.9] * 4),
        weapon_video("three", [0.9] * 3),
        weapon_video("weakly", [0.9, 0.9, 0.15, 0.15, 0.15]),
    ]
    risk = moderate_weapon(videos, min_seconds={"weapon": 4.0})
    assert risk["four"]["decision"] == "review"
    assert risk["four"]["evidence"] == "weapon 8-12s peak 0.90 (flag)"
    assert risk["three"]["decision"] == "clear"
    assert risk["three"]["evidence"] == (
        "nothing both strong and long enough: weapon 8-11s "
        "peak 0.90 (flag, brief: 3 s of the 4 s asked)"
    )
    assert risk["weakly"]["decision"] == "review"
    assert risk["weakly"]["evidence"] == "weapon 8-13s peak 0.90 (flag)"
    assert moderate_weapon(videos)["three"]["decision"] == "review"


def test_hysteresis_keeps_the_runs_that_reach_the_higher_level():
    from reelcat.summaries.timeline import hysteresis

    s = np.array([0.0, 0.1, 0.2, 0.1, 0.0, 0.1, 0.1, 0.0, 0.3, 0.1, 0.1])
    kept = hysteresis(s >= 0.18, s >= 0.09)
    assert np.flatnonzero(kept).tolist() == [1, 2, 3, 8, 9, 10]  # not the run at 5-6


def test_a_video_with_no_frames_is_reported_not_crashed_on():
    from reelcat.moderation.moderate import heatmap_matrix, moderate
    from reelcat.tagging.scores import VideoFrames
    from reelcat.tagging.thresholds import Threshold

    none = VideoFrames("none", 5.0, np.zeros(0), np.zeros(0, bool), {})
    th = {"weapon": Threshold("weapon", 0.5, 0.2, "archive")}
    result = moderate([none, weapon_video("four", [0.9] * 4)], th, ["weapon"], interval=1.0)
    risk = {r["video_id"]: r for r in result.risk}
    assert risk["none"]["decision"] == "clear"
    assert risk["none"]["evidence"] == "no frames: nothing to review"
    assert risk["four"]["decision"] == "review"
    assert np.isnan(heatmap_matrix(result.timeline, ["none"])).all()  # a grey row


def test_raw_flags_count_a_frame_once_whatever_the_number_of_tags_on_it():
    from reelcat.moderation.moderate import moderate
    from reelcat.tagging.scores import VideoFrames
    from reelcat.tagging.thresholds import Threshold

    scores = np.full(20, 0.02, np.float32)
    scores[8:11] = 0.9  # blood and weapon both on frames 8-10, weapon alone on 15
    weapon = scores.copy()
    weapon[15] = 0.9
    video = VideoFrames(
        "both", 20.0, np.arange(20.0), np.zeros(20, bool), {"blood": scores, "weapon": weapon}
    )
    th = {c: Threshold(c, 0.5, 0.2, "archive") for c in ("blood", "weapon")}
    assert moderate([video], th, ["blood", "weapon"], interval=1.0).raw_flagged_frames == 4


def test_one_queue_order_for_the_catalogue_and_the_page(out):
    import duckdb
    import pyarrow as pa

    from reelcat.moderation.step import SQL_DIR
    from reelcat.storage.schemas import VIDEO_DECISIONS
    from reelcat.storage.views import sql

    con = duckdb.connect()
    con.register(
        "results_video_decisions",
        pa.Table.from_pylist(
            [
                {"video_id": "b", "decision": "clear", "risk": 0.9},
                {"video_id": "c", "decision": "review", "risk": 0.5},
                {"video_id": "a", "decision": "review", "risk": 0.5},
            ],
            schema=VIDEO_DECISIONS,
        ),
    )
    order = dict(con.sql(sql("video_risk", SQL_DIR)).select("video_id, position").fetchall())
    assert order == {"a": 1, "c": 2, "b": 3}  # review first, riskiest first, then by id

    con = open_catalog(out)
    queue = [v for (v,) in con.execute("SELECT video_id FROM review_queue").fetchall()]
    positions = con.execute("SELECT list(position ORDER BY position) FROM review_queue").fetchall()[
        0
    ][0]
    con.close()
    assert positions == list(range(1, len(queue) + 1))
    stored = pq.read_table(Layout(out).video_risk).to_pylist()
    assert [r["video_id"] for r in sorted(stored, key=lambda r: r["position"])] == queue
