"""One rule for what people said, the same in Python and in SQL, and thresholds that keep
their baseline: scripted answers on a copy of the catalogued scripted archive."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from catalog.build import open_catalog
from reelcat.feedback.review_session import ReviewSession
from reelcat.feedback.step import learn_from_verdicts
from reelcat.feedback.verdicts import Verdict, append
from reelcat.storage.layout import Layout, safe_name
from reelcat.tagging.scores import load_archive_scores
from reelcat.tagging.thresholds import load_thresholds
from reelcat.tagging.vocabulary import load_vocabulary

from .conftest import REPO, copy_of, materialize, tiny_config

TAG = "snow field"


@pytest.fixture
def work(out, tmp_path):
    return copy_of(out, tmp_path)


def video(out, name):
    con = open_catalog(out)
    vid, duration = con.execute(
        "SELECT video_id, duration FROM video_names WHERE file_name = ?", [name]
    ).fetchall()[0]
    times = [
        t
        for (t,) in con.execute(
            "SELECT t FROM frames WHERE video_id = ? ORDER BY t", [vid]
        ).fetchall()
    ]
    con.close()
    return vid, duration, times


def python_labels(out, vid) -> dict[float, bool]:
    """What summaries and moderation see: scores with people's answers applied."""
    cfg = tiny_config(out, out)
    (v,) = [v for v in load_archive_scores(cfg) if v.video_id == vid]
    accept = load_thresholds(Layout(out), load_vocabulary(cfg.vocabulary))[TAG].accept
    return {float(t): bool(s >= accept) for t, s in zip(v.times, v.scores[TAG], strict=True)}


def sql_labels(out, vid) -> dict[float, bool]:
    """What the catalogue says: labels_final."""
    con = open_catalog(out)
    rows = con.execute(
        "SELECT t, label FROM labels_final WHERE video_id = ? AND tag = ?", [vid, TAG]
    ).fetchall()
    con.close()
    return {float(t): bool(label) for t, label in rows}


def test_per_video_arrays_hold_every_stored_score_in_time_order(out):
    """What summaries and moderation read (grouped per video and tag in DuckDB) is the
    catalogue's frame_tags, score for score, each video's frames in time order."""
    cfg = tiny_config(out, out)
    videos = load_archive_scores(cfg, apply_verdicts=False)
    con = open_catalog(out)
    stored = {
        (vid, tag, t): score
        for vid, tag, t, score in con.execute(
            "SELECT video_id, tag, t, score FROM frame_tags "
            "WHERE video_id IN (SELECT video_id FROM video_names)"
        ).fetchall()
    }
    con.close()
    read = {
        (v.video_id, tag, float(t)): float(s)
        for v in videos
        for tag, scores in v.scores.items()
        for t, s in zip(v.times, scores, strict=True)
    }
    assert len(videos) == 6 and len(read) > 500
    assert read == stored
    assert all((np.diff(v.times) > 0).all() for v in videos)


def test_python_and_sql_agree_on_a_scripted_verdict_sequence(work):
    vid, duration, times = video(work, "sky_snow.mp4")
    layout = Layout(work)
    model = python_labels(work, vid)
    assert model == sql_labels(work, vid)
    first_snow = min(t for t in times if t >= 10)
    assert model[first_snow] and not model[times[2]]  # sky first, snow from 10 s

    # "yes" on a sky frame: that frame and the rest of its shot (the sky frames around
    # it, 0-10 s), nothing of the snow shot
    sky_shot = {t: True for t in times if t < 10}
    append(layout, [Verdict("frame", vid, times[2], times[2], TAG, "yes")])
    py = python_labels(work, vid)
    assert py == sql_labels(work, vid)
    assert py == {**model, **sky_shot}

    # a newer whole-video "no" overrides the older frame "yes" everywhere
    (video_no,) = append(layout, [Verdict("video", vid, 0.0, duration, TAG, "no")])
    py = python_labels(work, vid)
    assert py == sql_labels(work, vid)
    assert not any(py.values())

    # a newer "yes" between two stored frames answers the nearest one; the rest of its
    # shot keeps the older whole-video "no" (an answer about a frame or its video comes
    # before another frame's shot)
    between = times[5] + 0.3 * (times[6] - times[5])
    append(layout, [Verdict("frame", vid, between, between, TAG, "yes")])
    con = open_catalog(work)
    anchors = con.execute(
        "SELECT t FROM frame_verdicts WHERE video_id = ? AND tag = ? AND anchor", [vid, TAG]
    ).fetchall()
    con.close()
    assert anchors == [(times[5],)]
    py = python_labels(work, vid)
    assert py == sql_labels(work, vid)
    assert [t for t, on in py.items() if on] == [times[5]]

    # undoing the whole-video "no" brings back the model and both frame answers
    append(layout, [Verdict("video", vid, 0.0, duration, TAG, "undo", undoes=video_no)])
    py = python_labels(work, vid)
    assert py == sql_labels(work, vid)
    assert py == {**model, **sky_shot}

    # the review session counts those frames as answered (no question about them again)
    answered = ReviewSession(tiny_config(work, work)).answered()
    assert {(vid, round(times[2], 3), TAG), (vid, round(times[5], 3), TAG)} <= answered


def test_thresholds_keep_their_baseline_through_learning_rounds(work):
    cfg = tiny_config(work, work)
    layout = Layout(work)
    vid, _, times = video(work, "sky_snow.mp4")
    baseline = {r["tag"]: r["accept"] for r in pq.read_table(layout.thresholds).to_pylist()}
    assert baseline[TAG] != 0.5  # from the archive's percentiles

    def answer(frames):
        append(
            layout, [Verdict("frame", vid, t, t, TAG, "yes" if t >= 10 else "no") for t in frames]
        )
        report = learn_from_verdicts(cfg)
        return {c["tag"]: c for c in report.changes}[TAG], {
            r["tag"]: r for r in pq.read_table(layout.thresholds).to_pylist()
        }

    first, rows1 = answer(times[8:12])
    second, rows2 = answer(times[4:8] + times[12:16])
    for change, rows in ((first, rows1), (second, rows2)):
        assert change["accept_before"] == pytest.approx(baseline[TAG])
        assert rows[TAG]["baseline_accept"] == pytest.approx(baseline[TAG])
        # every answer is about one video: its shots change, the threshold does not
        assert rows[TAG]["accept"] == change["accept_after"] == pytest.approx(baseline[TAG])
        assert "only" in change["decision"] and "shots changed" in change["decision"]
    assert rows2[TAG]["answers"] == 12
    # tags nobody answered keep their baseline as the threshold in force
    assert all(r["accept"] == r["baseline_accept"] for t, r in rows2.items() if t != TAG)


def test_answers_never_rescore_frames_the_stored_scores_stand(work, scripted_archive):
    layout = Layout(work)
    vid, _, times = video(work, "sky_snow.mp4")
    con = open_catalog(work)
    model_id, vocabulary_id = con.execute(
        "SELECT model_id, vocabulary_id FROM catalog_settings"
    ).fetchall()[0]
    per_frame = con.execute("SELECT count(*) FROM frames").fetchall()[0][0]
    con.close()
    tags = len(load_vocabulary(REPO / "reelcat/vocabularies/synthetic.yaml").names)
    for round_ in (range(0, 20, 2), range(1, 20, 2)):
        append(
            layout,
            [
                Verdict("frame", vid, times[i], times[i], TAG, "yes" if times[i] >= 10 else "no")
                for i in round_
            ],
        )
        materialize(scripted_archive, work)
        folders = sorted(p.name for p in layout.tags_root(model_id).iterdir())
        con = open_catalog(work)
        current, rows, ids = con.execute(
            "SELECT (SELECT vocabulary_id FROM catalog_settings), count(*), "
            "count(DISTINCT vocabulary_id) FROM frame_tags"
        ).fetchall()[0]
        con.close()
        # answers move thresholds and their own shots, never a tag's scores
        assert current == vocabulary_id
        assert folders == [safe_name(current)]
        assert rows == per_frame * tags and ids == 1
