"""'What is this video about?' on videos with known shots: summaries, segments, pictures."""

from __future__ import annotations

import io

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from catalog.build import open_catalog
from reelcat.storage.layout import Layout
from reelcat.storage.schemas import TAG_STATS, VIDEO_FRAMES
from reelcat.summaries.summarise import video_summaries_query, video_tags_query


def summary(con, name):
    return con.execute(
        "SELECT top_tags, about FROM video_summaries WHERE file_name = ?", [name]
    ).fetchone()


def test_mostly_beach_video_is_beach_first_and_the_cutaway_stays_out_of_top3(out):
    con = open_catalog(out)
    top, about = summary(con, "beach_fire.mp4")
    assert top[0] == "beach"
    assert "fire" not in top[:3]
    assert about.startswith("mostly beach (")


def test_segments_start_and_end_within_one_sampling_interval(out):
    con = open_catalog(out)
    beach = con.execute(
        "SELECT start, \"end\" FROM segments WHERE file_name = 'beach_fire.mp4' "
        "AND tag = 'beach' ORDER BY start"
    ).fetchall()
    forest = con.execute(
        "SELECT start, \"end\" FROM segments WHERE file_name = 'beach_fire.mp4' AND tag = 'forest'"
    ).fetchall()
    assert len(beach) == 2
    for (start, end), (true_start, true_end) in zip(beach, [(0, 12), (14, 23)], strict=True):
        assert abs(start - true_start) <= 1.0 and abs(end - true_end) <= 1.0
    assert len(forest) == 1 and abs(forest[0][0] - 23) <= 1.0 and abs(forest[0][1] - 30) <= 1.0


def test_similar_frames_are_other_videos_frames_of_the_same_concept(out):
    con = open_catalog(out)
    # sky_snow.mp4 at 15 s is snow field; the other snow field is spike.mp4's (0-16 s)
    rows = con.execute(
        "SELECT file_name, t FROM similar_frames('sky_snow.mp4', 15.0, 5)"
    ).fetchall()
    assert len(rows) == 5 and all(name == "spike.mp4" for name, _ in rows), rows


def test_tag_stats_have_idf_and_a_tag_in_every_video_weighs_nothing(out):
    con = open_catalog(out)
    n = con.execute(
        "SELECT count(*) FROM video_summaries WHERE frames > 0 AND about NOT LIKE 'only blank%'"
    ).fetchone()[0]
    rows = con.execute("SELECT df, idf FROM video_tags").fetchall()
    for df, idf in rows:
        assert idf == pytest.approx(np.log(6 / df)) or idf == pytest.approx(np.log(n / df))
    top3 = [
        t
        for (tags,) in con.execute("SELECT top_tags FROM video_summaries").fetchall()
        for t in (tags or [])[:3]
    ]
    ubiquitous = {
        t for (t,) in con.execute("SELECT DISTINCT tag FROM video_tags WHERE ubiquitous").fetchall()
    }
    assert not (set(top3) & ubiquitous)


def test_video_without_usable_frames_gets_a_summary_row_saying_so(out):
    con = open_catalog(out)
    assert summary(con, "black.mp4")[1] == "only blank frames: nothing to summarise"
    assert summary(con, "audio_only.mp4")[1] == "not catalogued: no video stream"


def test_word_cloud_and_charts_are_drawn_when_asked_not_for_every_video(out, tmp_path):
    from .test_pipeline_e2e import run_cli

    assert not list(Layout(out).pictures.rglob("*cloud*"))  # nothing drawn per video
    code, stdout, _ = run_cli("about", "--out", str(out), "beach_fire.mp4", "--png", str(tmp_path))
    assert code == 0
    for path in [
        tmp_path / "beach_fire_cloud.png",
        tmp_path / "beach_fire_tags.png",
        tmp_path / "beach_fire_severity.png",
        Layout(out).tag_frequencies_chart,
    ]:
        img = Image.open(io.BytesIO(path.read_bytes()))
        assert img.format == "PNG" and img.size[0] >= 200
        assert np.asarray(img.convert("L")).std() > 5  # something is drawn


def test_about_command_prints_a_timeline_strip_per_top_tag(out):
    from .test_pipeline_e2e import run_cli

    code, stdout, _ = run_cli("about", "--out", str(out), "beach_fire.mp4")
    assert code == 0
    strip = [ln for ln in stdout.splitlines() if ln.strip().startswith("beach |")]
    assert strip and any(ch in strip[0] for ch in "▅▆▇█")


def test_search_ranks_frames_that_look_like_the_text(out):
    from .test_pipeline_e2e import run_cli

    code, stdout, stderr = run_cli("search", "--out", str(out), "city at night", "-k", "5")
    assert code == 0, stderr
    hits = [ln.split() for ln in stdout.splitlines()[1:] if ln.strip()]
    assert len(hits) == 5
    assert sum(h[2] == "city.mp4" for h in hits) >= 4  # score, time, video, thumbnail
    assert all(h[-1].endswith(".jpg") and (out / "thumbnails").exists() for h in hits)


def test_tags_lists_the_vocabulary_with_df_and_thresholds(out):
    from .test_pipeline_e2e import run_cli

    code, stdout, _ = run_cli("tags", "--out", str(out))
    assert code == 0
    assert "snow field" in stdout and "accept" in stdout and "archive percentiles" in stdout


def test_dark_frames_with_content_are_evidence_but_fades_to_black_are_not():
    from reelcat.summaries.timeline import blank_frames
    from reelcat.synthetic.world import apply_nuisance, make_scene

    # this fire scene is darker on average (0.05) than a 6% grey: still a fire
    frames = {
        c: make_scene(c, np.random.default_rng(seed)).render(1.0, (160, 90))
        for c, seed in (("fire", 2), ("city at night", 3), ("beach", 3))
    }
    frames["faded beach"] = apply_nuisance(frames["beach"], "fade", level=0.05)
    frames["black"] = np.zeros((90, 160, 3), np.uint8)
    px = np.stack(list(frames.values())).reshape(len(frames), -1) / 255.0
    blank = dict(zip(frames, blank_frames(px.mean(1), px.std(1)), strict=True))
    assert blank == {
        "fire": False,
        "city at night": False,
        "beach": False,
        "faded beach": True,
        "black": True,
    }


def test_a_tag_in_every_video_weighs_zero_and_never_leads_a_summary():
    from reelcat.summaries.summarise import summarise
    from reelcat.tagging.scores import VideoFrames
    from reelcat.tagging.thresholds import Threshold

    times = np.arange(10.0)
    high, low = np.full(10, 0.9, np.float32), np.zeros(10, np.float32)
    part = np.where(times < 4, 0.9, 0.0).astype(np.float32)  # 40% of the video
    videos = [
        VideoFrames(
            f"v{i}",
            10.0,
            times,
            np.zeros(10, bool),
            {"sky": high, "fire": part if i == 0 else low, "forest": low if i == 0 else part},
        )
        for i in range(3)
    ]
    th = {t: Threshold(t, 0.5, 0.3, "test") for t in ("sky", "fire", "forest")}
    rows = summarise(videos, th, 1.0)  # per video; then the archive-wide SQL
    con = duckdb.connect()
    con.register("results_tag_stats", pa.Table.from_pylist(rows["tag_stats"], schema=TAG_STATS))
    con.register(
        "results_video_frames", pa.Table.from_pylist(rows["video_frames"], schema=VIDEO_FRAMES)
    )
    con.register("video_tags", video_tags_query(con).to_arrow_table())
    tags = con.sql("SELECT * FROM video_tags").to_arrow_table().to_pylist()
    sky = [r for r in tags if r["tag"] == "sky"]
    assert len(sky) == 3 and all(r["ubiquitous"] and r["weight"] == 0 for r in sky)
    assert next(r for r in tags if r["video_id"] == "v0" and r["tag"] == "fire")["rank"] == 1
    summaries = {r["video_id"]: r for r in video_summaries_query(con).to_arrow_table().to_pylist()}
    assert summaries["v0"]["top_tags"] == ["fire"]  # sky covers all of it, yet says nothing
    assert summaries["v0"]["about"] == "fire (40%)"


def test_the_summary_line_names_main_tags_by_time_and_brief_ones_after():
    con = duckdb.connect()
    con.register(
        "results_video_frames",
        pa.Table.from_pylist(
            [
                {"video_id": v, "frames": 10, "blank_frames": b}
                for v, b in (("many", 0), ("none", 0), ("blank", 10))
            ],
            schema=VIDEO_FRAMES,
        ),
    )
    rows = [
        ("many", t, c)
        for t, c in (
            ("beach", 0.62),
            ("underwater", 0.30),
            ("sky", 0.125),
            ("fire", 0.03),
            ("smoke", 0.02),
            ("rain", 0.01),
        )
    ]
    con.register(
        "video_tags",
        pa.Table.from_pylist(
            [
                {
                    "video_id": v,
                    "tag": t,
                    "rank": i + 1,
                    "coverage": c,
                    "mean_score": 0.9,
                    "weight": 1.0 - i / 10,
                }
                for i, (v, t, c) in enumerate(rows)
            ]
        ),
    )
    about = dict(video_summaries_query(con).select("video_id, about").fetchall())
    # 12.5% rounds half to even, as Python's format would
    assert about == {
        "many": "mostly beach (62%), underwater (30%) and sky (12%); briefly fire (3%), smoke (2%)",
        "none": "nothing recognised with confidence",
        "blank": "only blank frames: nothing to summarise",
    }
