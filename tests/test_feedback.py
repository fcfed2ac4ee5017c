"""The feedback loop: verdicts that stick, learning without decoding, the question queue."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from catalog.build import open_catalog
from reelcat.feedback.questions import Question, question_queue
from reelcat.feedback.verdicts import Verdict, VerdictError, append, effective, log
from reelcat.storage.layout import Layout
from reelcat.tagging.scores import VideoFrames
from reelcat.tagging.thresholds import Threshold

from .conftest import REPO, copy_of, ffmpeg_calls, materialize, run_cli, store


def read(out, what=effective) -> list[dict]:
    """The verdicts in force (or, with what=log, the whole log) of an output folder."""
    con = store(out)
    try:
        return what(con)
    finally:
        con.close()


def in_force(out) -> list[dict]:
    return read(out)


def whole_log(out) -> list[dict]:
    return read(out, log)


def test_latest_verdict_wins_and_undo_is_a_newer_row(tmp_path):
    layout = Layout(tmp_path)
    (first,) = append(layout, [Verdict("frame", "v1", 2.0, 2.0, "snow field", "yes")])
    (second,) = append(layout, [Verdict("frame", "v1", 2.0, 2.0, "snow field", "no")])
    assert [v["verdict"] for v in in_force(tmp_path)] == ["no"]
    append(layout, [Verdict("frame", "v1", 2.0, 2.0, "snow field", "undo", undoes=second)])
    assert [v["verdict_id"] for v in in_force(tmp_path)] == [first]
    assert [v["verdict"] for v in whole_log(tmp_path)] == ["yes", "no", "undo"]  # kept


def test_bad_verdicts_are_refused_and_nothing_is_written(tmp_path):
    for bad in [
        Verdict("shot", "v1", 0, 0, "fire", "no"),
        Verdict("segment", "v1", 0, 4, "fire", "no"),
        Verdict("frame", "v1", 0, 0, "fire", "maybe"),
        Verdict("frame", "v1", 5, 1, "fire", "no"),
        Verdict("frame", "v1", 0, 0, "fire", "undo"),
    ]:
        with pytest.raises(VerdictError):
            append(Layout(tmp_path), [Verdict("frame", "v1", 0, 0, "fire", "yes"), bad])
    assert whole_log(tmp_path) == []


def test_question_queue_prefers_uncertain_diverse_items_and_audits(tmp_path):
    times = np.arange(20, dtype=float)
    scores = np.linspace(0.0, 0.95, 20).astype(np.float32)
    videos = [
        VideoFrames(f"v{i}", 20.0, times, np.zeros(20, bool), {"fire": scores}) for i in range(3)
    ]
    rng = np.random.default_rng(0)
    embeddings = {(f"v{i}", t): rng.normal(size=8) for i in range(3) for t in times}
    for key, e in embeddings.items():
        embeddings[key] = e / np.linalg.norm(e)
    th = {"fire": Threshold("fire", 0.5, 0.3, "test")}
    queue = question_queue(videos, th, lambda v, t: embeddings[(v, t)], n=12, seed=1)
    assert len(queue) == 12
    uncertain = [q for q in queue if q.reason != "audit"]
    audit = [q for q in queue if q.reason == "audit"]
    assert 1 <= len(audit) <= 2  # ~8%, and audit items are accepted frames
    assert all(q.score >= 0.5 for q in audit)
    # the best questions sit right under the accept threshold
    assert all(0.3 <= q.score < 0.6 for q in uncertain[:3])
    # no two questions from the same shot a few seconds apart
    for a in uncertain:
        for b in uncertain:
            assert a is b or a.video_id != b.video_id or abs(a.t - b.t) >= 4.0
    # answered items are not asked again
    answered = {(q.video_id, round(q.t, 3), q.tag) for q in queue}
    again = question_queue(
        videos, th, lambda v, t: embeddings[(v, t)], n=12, seed=1, answered=answered
    )
    assert not any((q.video_id, round(q.t, 3), q.tag) in answered for q in again)
    assert isinstance(queue[0], Question)


def test_a_no_holds_through_a_full_rerun_and_rescoring_decodes_nothing(
    out, scripted_archive, tmp_path
):
    out = copy_of(out, tmp_path)
    con = open_catalog(out)
    vid, duration = con.execute(
        "SELECT video_id, duration FROM video_summaries WHERE file_name = 'beach_fire.mp4'"
    ).fetchone()
    con.close()
    append(Layout(out), [Verdict("video", vid, 0.0, duration, "beach", "no", source="button")])
    before = ffmpeg_calls()
    materialize(scripted_archive, out)  # the whole graph again
    assert ffmpeg_calls() == before  # verdicts re-score stored embeddings only
    con = open_catalog(out)
    top, about = con.execute(
        "SELECT top_tags, about FROM video_summaries WHERE video_id = ?", [vid]
    ).fetchone()
    assert "beach" not in top and "beach" not in about
    labels = con.execute(
        "SELECT count(*) FILTER (label), count(*) FROM labels_final "
        "WHERE video_id = ? AND tag = 'beach'",
        [vid],
    ).fetchone()
    assert labels[0] == 0 and labels[1] > 0
    assert con.execute("SELECT count(*) FROM verdicts WHERE video_id = ?", [vid]).fetchone()[0] == 1


def test_learning_reports_what_answers_changed_and_why(out, tmp_path):
    from reelcat.config import load_config
    from reelcat.feedback.step import learn_from_verdicts

    out = copy_of(out, tmp_path)
    cfg = load_config(REPO / "reelcat.yaml", overrides={"output_dir": str(out)}, environ={})
    con = open_catalog(out)
    rows = con.execute(
        "SELECT f.video_id, f.t FROM frames f JOIN video_names n "
        "USING (video_id) WHERE n.file_name = 'sky_snow.mp4'"
    ).fetchall()
    baseline = dict(con.execute("SELECT tag, accept FROM thresholds").fetchall())
    con.close()
    verdicts = [
        Verdict("frame", v, t, t, "snow field", "yes" if t >= 10 else "no") for v, t in rows
    ]
    ids = append(Layout(out), verdicts)
    report = learn_from_verdicts(cfg)
    (change,) = report.changes
    # every answer about one video: its shots change, nothing else does
    assert change["tag"] == "snow field" and change["answers"] == len(verdicts)
    assert change["videos_answered"] == 1
    assert change["accept_after"] == change["accept_before"] == baseline["snow field"]
    assert change["frames_changed"] == 0 and change["videos_changed"] == 0
    assert change["decision"] == "all answers are about one video: only its shots changed"
    assert sorted(change["verdict_ids"]) == sorted(ids)
    con = open_catalog(out)
    assert con.execute("SELECT * FROM thresholds").fetchall()
    con.close()
    import pyarrow.parquet as pq

    assert pq.read_table(Layout(out).learning_changes).to_pylist() == report.changes


def test_terminal_review_records_answers_and_undo(out, tmp_path):
    out = copy_of(out, tmp_path)
    before = len(whole_log(out))
    code, stdout, stderr = run_cli(
        "review", "--out", str(out), "-n", "5", "--reviewer", "tester", input="n\ny\nz\ns\nq\n"
    )
    assert code == 0, stderr[-2000:]
    assert "Is this '" in stdout and "undone" in stdout
    new = whole_log(out)[before:]
    # n, y, z (takes the y back and asks that question again), s (skips it)
    assert [r["verdict"] for r in new] == ["no", "yes", "undo", "skip"]
    assert new[2]["undoes"] == new[1]["verdict_id"] and new[0]["reviewer"] == "tester"
    assert (new[3]["video_id"], new[3]["start"], new[3]["tag"]) == (
        new[1]["video_id"],
        new[1]["start"],
        new[1]["tag"],
    )
    assert all(r["score"] is not None for r in (new[0], new[1], new[3]))
    # each question shows the archive's frame at full size (320x180), not the thumbnail
    pictures = re.findall(r"^    (/\S+\.jpg)$", stdout, re.MULTILINE)
    assert len(pictures) == 5 and all(Path(p).is_relative_to(out) for p in pictures)
    assert all(Image.open(p).size == (320, 180) for p in pictures)


def verdicts_cli(out, *args: str) -> tuple[int, str, str]:
    """`reelcat verdicts …` on an output folder, in this process: (exit code, out, err)."""
    import contextlib
    import io

    from orchestration.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["verdicts", "--config", str(REPO / "reelcat.yaml"), "--out", str(out), *args])
    return code, stdout.getvalue(), stderr.getvalue()


def listed_ids(text: str) -> list[str]:
    """The short ids of a `reelcat verdicts` table, top to bottom."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("when "))
    return [
        re.findall(r"(?<!\S)[0-9a-f]{8}(?!\S)", line)[0]
        for line in lines[start + 1 :]
        if line.strip() and not line.startswith("(")
    ]


def test_verdicts_command_lists_filters_and_undoes(out, tmp_path):
    out = copy_of(out, tmp_path)
    con = open_catalog(out)
    names = dict(con.execute("SELECT file_name, video_id FROM video_names").fetchall())
    con.close()
    city, sky = names["city.mp4"], names["sky_snow.mp4"]
    layout = Layout(out)
    old = append(
        layout,
        [Verdict("frame", city, t, t, "fire", "no", reviewer="ann") for t in (1.0, 2.0, 3.0)],
    )
    time.sleep(0.01)
    since = datetime.now().astimezone()
    time.sleep(0.01)
    new = append(
        layout,
        [
            Verdict("frame", sky, 12.5, 12.5, "snow field", "yes", reviewer="bob", score=0.4),
            Verdict("video", sky, 0.0, 20.0, "beach", "no", reviewer="bob", source="button"),
            Verdict("frame", sky, 4.0, 4.0, "snow field", "skip", reviewer="bob", score=0.3),
        ],
    )
    time.sleep(0.01)
    replaced = append(
        layout, [Verdict("frame", sky, 12.5, 12.5, "snow field", "no", reviewer="bob")]
    )

    code, text, _ = verdicts_cli(out)
    assert code == 0
    header, first = text.splitlines()[:2]
    assert header.split() == [
        "when",
        "reviewer",
        "video",
        "time",
        "tag",
        "verdict",
        "scope",
        "source",
        "id",
        "status",
    ]
    assert first.split()[2:] == [
        "bob",
        "sky_snow.mp4",
        "0:12.5",
        "snow",
        "field",
        "no",
        "frame",
        "cli",
        replaced[0][:8],
        "in",
        "force",
    ]
    ids = listed_ids(text)
    assert new[2][:8] not in ids  # skips only with --all
    assert set(ids) == {v[:8] for v in old + new[:2] + replaced}
    assert ids.index(replaced[0][:8]) < ids.index(new[0][:8]) < ids.index(old[0][:8])
    assert "replaced" in text.splitlines()[1 + ids.index(new[0][:8])]
    assert "whole video" in text  # the video-wide "no"
    assert new[2][:8] in listed_ids(verdicts_cli(out, "--all")[1])
    assert set(listed_ids(verdicts_cli(out, "--tag", "fire")[1])) == {v[:8] for v in old}
    assert set(listed_ids(verdicts_cli(out, "--video", "city.mp4")[1])) == {v[:8] for v in old}
    assert set(listed_ids(verdicts_cli(out, "--video", sky)[1])) == {
        v[:8] for v in new[:2] + replaced
    }
    assert set(listed_ids(verdicts_cli(out, "--reviewer", "ann")[1])) == {v[:8] for v in old}
    assert set(listed_ids(verdicts_cli(out, "--since", since.isoformat())[1])) == {
        v[:8] for v in new[:2] + replaced
    }
    code, text, _ = verdicts_cli(out, "--limit", "2")
    assert len(listed_ids(text)) == 2 and "(the newest 2 of 6: --limit N shows more)" in text
    assert verdicts_cli(out, "--since", "last tuesday")[0] == 2

    # --undo: an unknown id is an error, and nothing is written
    rows = len(whole_log(out))
    code, _, err = verdicts_cli(out, "--undo", old[0][:8], "f" * 33)
    assert code == 2 and "no verdict" in err and len(whole_log(out)) == rows
    code, text, _ = verdicts_cli(out, "--undo", old[0][:6])  # a unique prefix will do
    assert code == 0 and "undid 1 answer" in text
    (undo,) = whole_log(out)[rows:]
    assert (undo["verdict"], undo["undoes"]) == ("undo", old[0])
    for again, message in ((old[0], "already undone"), (undo["verdict_id"], "is an undo")):
        code, _, err = verdicts_cli(out, "--undo", again)
        assert code == 2 and message in err
    assert len(whole_log(out)) == rows + 1

    # --undo-since: every answer since then, narrowed by the filters; the replaced "yes"
    # too, so it cannot come back; the skip only with --all
    code, text, _ = verdicts_cli(out, "--undo-since", since.isoformat(), "--tag", "snow field")
    assert code == 0 and "undid 2 answers" in text
    undone = {r["undoes"] for r in whole_log(out)[rows + 1 :]}
    assert undone == {new[0], replaced[0]}
    assert [v["verdict_id"] for v in in_force(out) if v["video_id"] == sky] == [new[1]]
    code, text, _ = verdicts_cli(out, "--undo-since", since.isoformat(), "--all")
    assert code == 0 and "undid 2 answers" in text  # the whole-video "no" and the skip
    assert not [v for v in in_force(out) if v["video_id"] == sky]
    assert "nothing to undo" in verdicts_cli(out, "--undo-since", since.isoformat())[1]

    # a prefix more than one id starts with is an error too (17 ids: two share a digit)
    more = append(layout, [Verdict("frame", city, t, t, "crowd", "no") for t in range(17)])
    firsts = [v[0] for v in more]
    shared = next(c for c in firsts if firsts.count(c) > 1)
    rows = len(whole_log(out))
    code, _, err = verdicts_cli(out, "--undo", more[0][:8], shared)
    assert code == 2 and "ambiguous" in err and len(whole_log(out)) == rows


def test_skipped_and_unsure_questions_come_back_when_the_score_moves(out, tmp_path):
    from reelcat.config import load_config
    from reelcat.feedback.review_session import ReviewSession

    out = copy_of(out, tmp_path)
    cfg = load_config(REPO / "reelcat.yaml", overrides={"output_dir": str(out)}, environ={})
    session = ReviewSession(cfg)
    asked, pairs = [], set()
    for a in session.questions(40):  # one per video and tag: no answer covers another
        if (a.question.video_id, a.question.tag) not in pairs:
            pairs.add((a.question.video_id, a.question.tag))
            asked.append(a.question)
    assert len(asked) >= 7
    key = lambda q: (q.video_id, round(q.t, 3), q.tag)  # noqa: E731
    layout = Layout(out)

    def said(q, verdict, score, **kw):
        return append(
            layout, [Verdict("frame", q.video_id, q.t, q.t, q.tag, verdict, score=score, **kw)]
        )[0]

    skipped = session.skip(asked[0].video_id, asked[0].t, asked[0].tag)
    assert [r["score"] for r in whole_log(out) if r["verdict_id"] == skipped] == [
        pytest.approx(asked[0].score)
    ]
    said(asked[1], "skip", asked[1].score + 0.25)  # the score moved since: ask again
    said(asked[2], "unsure", asked[2].score - 0.05)  # within 0.1: not yet
    said(asked[3], "unsure", asked[3].score + 0.3)  # moved: ask again
    said(asked[4], "no", asked[4].score + 0.5)  # a yes or no holds whatever the score
    undone = said(asked[5], "skip", asked[5].score)
    append(
        layout,
        [
            Verdict(
                "frame",
                asked[5].video_id,
                asked[5].t,
                asked[5].t,
                asked[5].tag,
                "undo",
                undoes=undone,
            )
        ],
    )
    said(asked[6], "unsure", None)  # no score recorded: holds
    settled = session.answered()
    assert [key(q) in settled for q in asked[:7]] == [True, False, True, False, True, False, True]
    again = {key(a.question) for a in ReviewSession(cfg).questions(40)}
    assert key(asked[0]) not in again and key(asked[4]) not in again
    assert key(asked[1]) in again and key(asked[3]) in again


def test_naming_a_group_creates_a_tag_and_propagates_to_look_alikes(out, tmp_path):
    from catalog.build import build_catalog
    from reelcat.feedback.groups import find_groups, name_group, typical_members
    from reelcat.tagging.vocabulary import load_vocabulary

    work = copy_of(out, tmp_path)
    con = open_catalog(work)
    rows = con.execute(
        "SELECT f.video_id, f.t, n.file_name, f.embedding FROM frames f "
        "JOIN video_names n USING (video_id) ORDER BY 1, 2"
    ).fetchall()
    settings = con.execute(
        "SELECT model_id, sampling_id, vocabulary_id, interval_seconds, results_key "
        "FROM catalog_settings"
    ).fetchone()
    con.close()
    emb = np.asarray([r[3] for r in rows], dtype=np.float32)
    vids = [r[0] for r in rows]
    times = np.asarray([r[1] for r in rows])
    groups = find_groups(emb, vids, min_videos=1)
    # the group holding most of city.mp4's first ten seconds (city at night)
    city = {i for i, r in enumerate(rows) if r[2] == "city.mp4" and r[1] < 10}
    group = max(groups, key=lambda g: len(city & set(g.members.tolist())))
    assert len(city & set(group.members.tolist())) >= 5
    vocab = load_vocabulary(REPO / "reelcat/vocabularies/synthetic.yaml")
    with pytest.raises(VerdictError, match="already a tag"):
        name_group(Layout(work), group, "fire", emb, vids, times, vocab.names)
    with pytest.raises(VerdictError, match="confirm"):
        name_group(
            Layout(work),
            group,
            "night lights",
            emb,
            vids,
            times,
            vocab.names,
            max_without_confirm=2,
        )
    info = name_group(Layout(work), group, "night lights", emb, vids, times, vocab.names)
    assert info["accepted"] >= 5
    members = [v for v in in_force(work) if v["tag"] == "night lights"]
    typical = typical_members(group, emb, info["review"])
    assert 0 < len(members) == len(typical) <= group.size
    assert all(v["source"] == "cluster" for v in members)
    build_catalog(
        work,
        model_id=settings[0],
        sampling_id=settings[1],
        vocab=vocab,
        vocabulary_id=settings[2],
        interval_seconds=settings[3],
        results_key=settings[4],
    )
    con = open_catalog(work)
    labelled = con.execute(
        "SELECT n.file_name, l.t FROM named_group_labels l JOIN video_names n USING (video_id) "
        "WHERE l.tag = 'night lights' AND l.status = 'accepted'"
    ).fetchall()
    assert len(labelled) == info["accepted"]
    in_city = sum(1 for name, t in labelled if name == "city.mp4" and t < 10.5)
    assert in_city / len(labelled) >= 0.8  # it spreads to look-alikes, not everywhere

    # a named group's tag is asked about like any other tag: the look-alikes in its
    # uncertain band that were not members become questions
    from reelcat.config import load_config
    from reelcat.feedback.groups import Group, preview
    from reelcat.feedback.review_session import ReviewSession

    # name the biggest group's members in every other of its videos: those in the rest
    # are look-alikes nobody has answered (not even through a named member's shot)
    big = max(groups, key=lambda g: (g.videos, g.size))
    named_videos = sorted({vids[i] for i in big.members})[::2]
    half = np.array([i for i in big.members if vids[i] in named_videos])
    centroid = emb[half].mean(0) / np.linalg.norm(emb[half].mean(0))
    other = Group(99, half, centroid, float((emb[half] @ centroid).mean()), big.videos)
    band = preview(other, emb)
    sims = emb @ centroid
    outsiders = set(np.flatnonzero(sims < band["accept"]).tolist()) - set(half.tolist())
    assert len(outsiders & set(big.members.tolist())) >= 2
    name_group(
        Layout(work),
        other,
        "look-alike",
        emb,
        vids,
        times,
        vocab.names + ["night lights"],
        confirmed=True,
    )
    cfg = load_config(REPO / "reelcat.yaml", overrides={"output_dir": str(work)}, environ={})
    session = ReviewSession(cfg)
    band = session.thresholds["look-alike"]
    assert band.source == "named group"
    asked = [a.question for a in session.questions(10, tags=["look-alike"])]
    assert asked and all(q.tag == "look-alike" for q in asked)
    outside = {(vids[i], round(float(times[i]), 3)) for i in outsiders}
    # (its members, and their shots, are answered already: questions are about the rest)
    assert all((q.video_id, round(q.t, 3)) in outside for q in asked)
    q = asked[0]
    session.answer(q.video_id, q.t, "look-alike", "no")
    assert [
        v["verdict"]
        for v in in_force(work)
        if v["tag"] == "look-alike" and v["video_id"] == q.video_id and v["start"] == q.t
    ] == ["no"]
    with pytest.raises(VerdictError, match="unknown tag"):
        session.answer(q.video_id, q.t, "look-alikes", "yes")


def _answers(scores, said, videos):
    return np.asarray(scores, float), np.asarray(said, bool), np.asarray(videos, dtype=object)


def test_one_answer_or_agreeing_answers_never_move_a_tag_archive_wide():
    from reelcat.feedback.learning import Examples, adapt
    from reelcat.tagging.scoring import TextBank

    rng = np.random.default_rng(0)
    dim = 8
    pos = np.eye(dim, dtype=np.float32)[:2]
    bank = TextBank(["a", "b"], pos, np.zeros((0, dim), np.float32), np.zeros((0, 2), bool), 10.0)
    archive = rng.normal(size=(400, dim)).astype(np.float32)
    archive /= np.linalg.norm(archive, axis=1, keepdims=True)
    one = Examples(archive[:1], np.array([False]), np.array(["v1"], dtype=object), ["id1"])
    learned = adapt(bank, {"a": one}, {"a": 0.5, "b": 0.5}, archive)
    assert learned.accept == {"a": 0.5}
    assert "fewer than 6" in learned.decisions["a"].reason
    # twelve answers from four videos, every "yes" above the level and every "no" below
    from reelcat.tagging.scoring import score_embeddings

    scores = score_embeddings(archive, bank)[1][:, 0]
    hi, lo = np.argsort(-scores)[:6], np.argsort(scores)[:6]
    agree = Examples(
        archive[np.r_[hi, lo]],
        np.r_[np.ones(6, bool), np.zeros(6, bool)],
        np.array([f"v{i % 4}" for i in range(12)], dtype=object),
    )
    assert scores[hi].min() >= 0.5 > scores[lo].max()
    learned = adapt(bank, {"a": agree}, {"a": 0.5}, archive)
    assert learned.accept["a"] == 0.5
    assert "do not clearly support" in learned.decisions["a"].reason


def test_the_level_moves_only_past_answers_that_clearly_support_it():
    from reelcat.feedback.learning import MIN_FLIPPED, fit_level

    weights = np.ones(20)
    # seven "no" answers from four videos between 0.30 and 0.52, a "yes" at 0.74: the
    # level rises past the "no"s, halfway to the "yes" at most MAX_STEP beyond
    scores, said, videos = _answers(
        [0.05, 0.1, 0.31, 0.35, 0.38, 0.42, 0.45, 0.48, 0.52, 0.74, 0.9],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1],
        ["v1", "v2", "v1", "v2", "v3", "v4", "v1", "v2", "v3", "v4", "v1"],
    )
    level = fit_level(scores, said, videos, weights[: len(scores)], 0.3)
    assert level == pytest.approx(0.52 + 0.1)
    # the same "no"s from one video: nothing moves
    level = fit_level(scores, said, np.full(len(scores), "v1", object), weights[:11], 0.3)
    assert level == 0.3
    # two "yes" among them (a third): not clearly few enough, nothing moves
    noisy = said.copy()
    noisy[[3, 6]] = True
    assert fit_level(scores, noisy, videos, weights[:11], 0.3) == 0.3
    # "yes" answers below the level from several videos lower it; one stray "yes" far
    # below the rest (a "no" between) does not drag it further down
    scores, said, videos = _answers(
        [0.02, 0.08, 0.12, 0.14, 0.16, 0.18, 0.2, 0.22, 0.25, 0.6],
        [1, 0, 1, 1, 1, 1, 1, 1, 1, 1],
        ["v1", "v2", "v3", "v1", "v2", "v3", "v1", "v2", "v3", "v1"],
    )
    assert MIN_FLIPPED <= 8
    level = fit_level(scores, said, videos, weights[: len(scores)], 0.3)
    assert level == pytest.approx(0.12 - (0.12 - 0.08) / 2)


def test_a_taught_concept_follows_its_answers():
    from reelcat.feedback.learning import Examples, teach_concept

    dim = 6
    centroid = np.eye(dim, dtype=np.float32)[0]
    near = np.array([[0.8, 0.6, 0, 0, 0, 0]] * 4 + [[0.7, 0, 0.71, 0, 0, 0]] * 4, np.float32)
    near /= np.linalg.norm(near, axis=1, keepdims=True)
    said = np.r_[np.ones(4, bool), np.zeros(4, bool)]  # the e1 side is the concept
    ex = Examples(near, said, np.array(["v1", "v2", "v3", "v4"] * 2, dtype=object))
    taught = teach_concept(centroid, 0.9, 0.6, ex)
    assert taught.prototype @ near[0] > centroid @ near[0]  # toward the "yes" answers
    assert taught.prototype @ near[4] < centroid @ near[4]  # away from the "no" answers
    assert taught.prototype @ near[0] > taught.prototype @ near[4]
    # too few answers: the prototype moves, the group's levels stay
    few = teach_concept(centroid, 0.9, 0.6, Examples(near[:2], said[:2], ex.videos[:2]))
    assert (few.accept, few.review) == (0.9, 0.6)


def test_a_concept_taught_from_examples_learns_from_its_answers(out, tmp_path):
    from reelcat.feedback.review_session import ReviewSession
    from reelcat.feedback.step import learn_from_verdicts

    from .conftest import tiny_config

    work = copy_of(out, tmp_path)
    code, _, stderr = run_cli("teach", "lights", "city.mp4@2", "--out", str(work))
    assert code == 2 and "at least 2" in stderr
    code, _, stderr = run_cli("teach", "fire", "city.mp4@2", "city.mp4@6", "--out", str(work))
    assert code == 2 and "already a tag" in stderr
    code, _, stderr = run_cli("teach", "lights", "nope.mp4@2", "city.mp4@6", "--out", str(work))
    assert code == 2 and "no video 'nope.mp4'" in stderr
    assert not [v for v in in_force(work) if v["tag"] == "lights"]  # refused: nothing written

    code, stdout, stderr = run_cli(
        "teach", "lights", "city.mp4@2", "city.mp4@6", "--out", str(work)
    )
    assert code == 0, stderr
    assert "'lights' taught from 2 examples" in stdout
    examples = [v for v in in_force(work) if v["tag"] == "lights"]
    assert sorted(v["start"] for v in examples) == [2.0, 6.0]

    cfg = tiny_config(work, work)
    session = ReviewSession(cfg)
    # the look-alikes scored highest outside city.mp4's night shot are not the concept
    scored = sorted(
        (
            (float(s), v.video_id, float(t))
            for v in session.videos
            for t, s in zip(v.times, v.scores["lights"], strict=True)
            if not (session.names[v.video_id] == "city.mp4" and t < 10)
        ),
        reverse=True,
    )
    nos = scored[:6]
    assert len({v for _, v, _ in nos}) >= 2
    for _, video, t in nos:
        session.answer(video, t, "lights", "no")
    report = learn_from_verdicts(cfg)
    (concept,) = report.concepts
    (change,) = [c for c in report.changes if c["tag"] == "lights"]
    assert concept["tag"] == "lights" and concept["answers"] == 2 + len(nos)
    assert change["answers"] == concept["answers"] and len(change["verdict_ids"]) == 2 + len(nos)
    # the prototype moved away from the "no" frames; the night shot stays accepted
    before = {
        (v.video_id, round(float(t), 3)): float(s)
        for v in session.videos
        for t, s in zip(v.times, v.scores["lights"], strict=True)
    }
    after = ReviewSession(cfg)
    moved = {
        (v.video_id, round(float(t), 3)): float(s)
        for v in after.videos
        for t, s in zip(v.times, v.scores["lights"], strict=True)
    }
    assert all(moved[(v, round(t, 3))] < before[(v, round(t, 3))] for _, v, t in nos)
    city = [k for k in moved if after.names[k[0]] == "city.mp4" and k[1] < 10]
    assert city and all(moved[k] >= after.thresholds["lights"].accept for k in city[1:-1])
    con = store(work)
    try:
        (answers,) = con.execute("SELECT answers FROM concepts WHERE tag = 'lights'").fetchone()
    finally:
        con.close()
    assert answers == concept["answers"]
