"""The review web page, served for real over a small real catalogue.

Three synthetic videos are catalogued once by the Dagster graph on local Ray; the server
runs in a thread on a free port; a real Chromium (Playwright) answers questions, and
urllib/http.client check the pages, the API's validation and the file sandbox. The
player and the clicks that play a moment are tested in test_playback.py.
"""

from __future__ import annotations

import html
import http.client
import io
import json
import os
import re
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from catalog.build import open_catalog
from reelcat.feedback import question_media
from reelcat.feedback.questions import Question
from reelcat.feedback.review_session import Asked, ReviewSession
from reelcat.storage.layout import Layout
from reelcat.storage.parquet import write_table
from reelcat.storage.schemas import LEARNING_CHANGES
from reelcat.synthetic.archive import Shot, make_video
from reelcat.tools import ffprobe_path
from reelcat.web.app import make_server

from .conftest import ffmpeg_calls, materialize, run_cli, tiny_config

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory, ray_local) -> tuple[Path, Path]:
    archive = tmp_path_factory.mktemp("review_archive")
    videos = {
        "beach_fire.mp4": [Shot("beach", 6.0), Shot("fire", 4.0)],
        "snow_sky.mp4": [Shot("snow field", 5.0), Shot("sky with clouds", 5.0)],
        "blood_kitchen.mp4": [Shot("blood", 6.0), Shot("kitchen", 4.0)],
    }
    for seed, (name, shots) in enumerate(videos.items()):
        make_video(archive / name, shots, size=(320, 180), fps=10, seed=seed)
    out = tmp_path_factory.mktemp("review_out")
    materialize(archive, out)
    return archive, out


@pytest.fixture(scope="module")
def server(catalogue):
    archive, out = catalogue
    srv = make_server(tiny_config(archive, out))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


def video_ids(out: Path) -> dict[str, str]:
    """file name -> video id, from the manifest."""
    return {
        r["path"].rsplit("/", 1)[-1]: r["video_id"]
        for r in pq.read_table(Layout(out).manifest).to_pylist()
    }


def log(srv) -> list[dict]:
    """The whole verdict log, undo rows included, oldest first."""
    return srv.session.log()


def get(srv, path: str) -> tuple[int, str, bytes]:
    """GET with the path sent exactly as written (no client-side '..' clean-up)."""
    status, headers, body = get_with_headers(srv, path)
    return status, headers.get("Content-Type") or "", body


def get_with_headers(srv, path: str) -> tuple[int, dict[str, str], bytes]:
    host, port = srv.server_address[:2]
    con = http.client.HTTPConnection(host, port, timeout=30)
    try:
        con.request("GET", path)
        resp = con.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        con.close()


def own_page(srv) -> dict[str, str]:
    """The headers a POST from the review page itself carries: its Origin, its token."""
    return {"Origin": srv.url, "X-Reelcat-Token": srv.csrf_token}


def post(srv, path: str, body: dict | bytes) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **own_page(srv)}
    req = urllib.request.Request(srv.url + path, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def post_form(srv, path: str, fields: dict) -> tuple[int, str]:
    """POST an HTML form the way the pages do (its Origin, the token as the `csrf` field);
    returns the status and where it redirects."""
    host, port = srv.server_address[:2]
    con = http.client.HTTPConnection(host, port, timeout=60)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": srv.url}
        body = urlencode({**fields, "csrf": srv.csrf_token})
        con.request("POST", path, body=body, headers=headers)
        resp = con.getresponse()
        resp.read()
        return resp.status, resp.getheader("Location") or ""
    finally:
        con.close()


def browser_frame_width(srv, path: str) -> int:
    """How wide the question's frame is, as a real browser ends up showing it."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page()
            page.goto(srv.url + path)
            page.wait_for_function("document.querySelector('#frame').naturalWidth > 0")
            return page.evaluate("document.querySelector('#frame').naturalWidth")
        finally:
            browser.close()


def shown_question(srv, path: str = "/questions") -> tuple[tuple[str, float, str], str]:
    """The (video, t, tag) a questions page asks, and the page."""
    status, _, body = get(srv, path)
    page = body.decode()
    assert status == 200, page
    m = re.search(
        r'id="question" data-video-id="([^"]+)" data-t="([^"]+)"\s+data-tag="([^"]+)"', page
    )
    assert m, page
    return (m[1], float(m[2]), html.unescape(m[3])), page


def answer_rows(page: str) -> dict[str, dict]:
    """verdict id -> status, cell texts and whether it has an Undo button, of a page's
    answers table (newest first, as listed)."""
    rows = {}
    for vid, status, inner in re.findall(
        r'<tr data-verdict-id="([0-9a-f]+)" data-status="([^"]+)">(.*?)</tr>', page
    ):
        cells = [
            html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td>(.*?)</td>", inner)
        ]
        rows[vid] = {"status": status, "cells": cells, "undo": f'data-undo="{vid}"' in inner}
    return rows


def test_archive_page_shows_heat_map_and_riskiest_first(server):
    status, ctype, body = get(server, "/")
    page = body.decode()
    assert status == 200 and ctype.startswith("text/html")
    assert '<img class="pic" src="/files/pictures/heatmap.png"' in page
    ids = video_ids(server.out)
    review, cleared = page.split("<h2>Cleared")
    assert f'href="/video/{ids["blood_kitchen.mp4"]}"' in review
    assert "blood 0:00–0:06" in review  # the flagged time range
    assert f'href="/video/{ids["beach_fire.mp4"]}"' in cleared
    assert 'href="/questions"' in page
    status, ctype, png = get(server, "/files/pictures/heatmap.png")
    assert status == 200 and ctype == "image/png" and png.startswith(b"\x89PNG")


def test_video_page_shows_summary_pictures_and_flagged_frames(server):
    ids = video_ids(server.out)
    vid = ids["blood_kitchen.mp4"]
    about = {
        r["video_id"]: r["about"]
        for r in pq.read_table(Layout(server.out).video_summaries).to_pylist()
    }
    status, _, body = get(server, f"/video/{vid}")
    page = body.decode()
    assert status == 200
    assert about[vid].startswith("mostly blood")
    assert f'id="about">{html.escape(about[vid])}</p>' in page
    for kind in ("cloud", "tags"):  # drawn when the page asks for them
        assert f'src="/picture/{vid}/{kind}.png"' in page
    for kind in ("severity", "cloud", "tags"):  # the severity strip too, for other pages
        status, ctype, png = get(server, f"/picture/{vid}/{kind}.png")
        assert status == 200 and ctype == "image/png" and png.startswith(b"\x89PNG")
    assert f'<video id="player" src="/play/{vid}"' in page  # played from the archive file
    assert 'id="severity"><svg' in page  # the severity strip on the timelines' time axis
    assert get(server, f"/picture/{vid}/nope.png")[0] == 404
    assert get(server, "/picture/not-a-video/cloud.png")[0] == 404
    assert 'data-wrong="blood"' in page  # a "that's wrong" button for its top tag
    assert "<svg" in page  # the timelines
    con = open_catalog(server.out)
    ((thumb,),) = con.execute(
        "SELECT thumbnail FROM moderation_segments WHERE video_id = ?", [vid]
    ).fetchall()
    con.close()
    assert f'src="/files/{thumb}"' in page
    status, ctype, jpeg = get(server, f"/files/{thumb}")
    assert status == 200 and ctype == "image/jpeg" and jpeg.startswith(b"\xff\xd8")
    assert get(server, "/video/not-a-video")[0] == 404


def test_files_outside_the_output_folder_are_refused(server):
    (Layout(server.out).pictures / "escape.png").symlink_to("/etc/passwd")
    for path in (
        "/files/../../etc/passwd",
        "/files/%2e%2e/%2e%2e/etc/passwd",
        "/files//etc/passwd",
        "/files/%2Fetc%2Fpasswd",
        "/files/pictures/escape.png",
        "/files/manifest.parquet",
    ):
        status, _, body = get(server, path)
        assert status in (403, 404), path
        assert b"root:" not in body, path


def test_styles_and_scripts_are_files_not_inline(server):
    vid = video_ids(server.out)["blood_kitchen.mp4"]
    for path in ("/", f"/video/{vid}", "/questions", "/verdicts", "/search?q=blood"):
        status, headers, body = get_with_headers(server, path)
        page = body.decode()
        assert status == 200, path
        policy = headers["Content-Security-Policy"]
        assert "style-src 'self'" in policy and "script-src 'self'" in policy, path
        assert "media-src 'self'" in policy, path
        assert "unsafe-inline" not in policy, path
        assert "<style" not in page and "style=" not in page, path
        assert '<link rel="stylesheet" href="/static/style.css">' in page, path
        assert "<script>" not in page, path
    assert '<script src="/static/keys.js"></script>' in get(server, "/questions")[2].decode()
    for path in ("/", "/questions", "/search?q=blood"):  # frames cut from the archive
        assert '<script src="/static/fallback.js"></script>' in get(server, path)[2].decode()
    for path in ("/", f"/video/{vid}"):
        assert '<script src="/static/play.js"></script>' in get(server, path)[2].decode(), path
    status, ctype, css = get(server, "/static/style.css")
    assert status == 200 and ctype.startswith("text/css") and b".timeline" in css
    status, ctype, js = get(server, "/static/keys.js")
    assert status == 200 and ctype.startswith("text/javascript") and b"keydown" in js
    status, ctype, js = get(server, "/static/play.js")
    assert status == 200 and ctype.startswith("text/javascript") and b"data-seek" in js
    status, ctype, js = get(server, "/static/fallback.js")
    assert status == 200 and ctype.startswith("text/javascript") and b"data-fallback" in js
    for path in ("/static/app.py", "/static/../app.py", "/static/%2e%2e/app.py", "/static/"):
        assert get(server, path)[0] == 404, path


def test_bad_answers_are_refused_and_write_nothing(server):
    ids = video_ids(server.out)
    good = {
        "video_id": ids["beach_fire.mp4"],
        "t": 1.0,
        "tag": "beach",
        "verdict": "no",
        "source": "question",
    }
    before = len(log(server))
    cases = [
        ({**good, "video_id": "nope"}, "unknown video 'nope'"),
        ({**good, "tag": "guacamole"}, "unknown tag 'guacamole'"),
        ({**good, "verdict": "maybe"}, "verdict must be yes, no or unsure"),
        ({**good, "t": "soon"}, "t must be a number"),
        ({**good, "t": 99.0}, "outside video"),
        ({**good, "source": "robot"}, "source must be one of"),
        ({k: v for k, v in good.items() if k != "tag"}, "missing field: tag"),
        (b'{"video_id": "x", "tag": ', "malformed JSON"),
        (b"[1, 2]", "expected a JSON object"),
    ]
    for body, message in cases:
        status, reply = post(server, "/api/answer", body)
        assert status == 400, (body, reply)
        assert message in reply["error"], (body, reply)
    assert post(server, "/api/undo", {"verdict_id": "0" * 32})[0] == 404
    assert post(server, "/api/undo", {})[0] == 400
    assert len(log(server)) == before


def test_whole_video_wrong_and_undo_through_the_api(server):
    vid = video_ids(server.out)["beach_fire.mp4"]
    status, reply = post(
        server,
        "/api/answer",
        {"video_id": vid, "tag": "fire", "verdict": "no", "scope": "video", "source": "button"},
    )
    assert status == 200
    row = next(r for r in log(server) if r["verdict_id"] == reply["verdict_id"])
    assert (row["scope"], row["video_id"], row["tag"], row["verdict"], row["start"]) == (
        "video",
        vid,
        "fire",
        "no",
        0.0,
    )
    assert row["end"] == pytest.approx(10.0, abs=0.2) and row["reviewer"] == "web"
    status, undone = post(server, "/api/undo", {"verdict_id": reply["verdict_id"]})
    assert status == 200
    assert any(r["verdict"] == "undo" and r["undoes"] == reply["verdict_id"] for r in log(server))
    assert post(server, "/api/undo", {"verdict_id": reply["verdict_id"]})[0] == 409


def test_questions_show_the_archive_frame_at_full_size_and_a_clip(server, tmp_path):
    (vid, t, _), page = shown_question(server)
    ext = question_media.clip_format()
    frame_url, clip_url = f"/frame/{vid}/{t:.3f}.jpg", f"/clip/{vid}/{t:.3f}.{ext}"
    assert f'<img id="frame" src="{frame_url}"' in page
    assert f'<video id="clip" src="{clip_url}" controls muted loop' in page
    status, ctype, jpeg = get(server, frame_url)
    assert status == 200 and ctype == "image/jpeg"
    assert Image.open(io.BytesIO(jpeg)).size == (320, 180)  # the archive's own pixels
    thumbnail = re.search(r'data-fallback="/files/([^"]+)"', page)[1]
    assert Image.open(server.out / thumbnail).size == (160, 90)  # what it falls back to
    status, ctype, clip = get(server, clip_url)
    assert status == 200 and ctype == f"video/{ext}"
    (tmp_path / f"clip.{ext}").write_bytes(clip)
    probe = json.loads(
        subprocess.run(
            [
                ffprobe_path(),
                "-v",
                "error",
                "-show_entries",
                "format=duration:stream=codec_name,width,height",
                "-of",
                "json",
                str(tmp_path / f"clip.{ext}"),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert float(probe["format"]["duration"]) == pytest.approx(4.0, abs=0.3)
    (stream,) = probe["streams"]
    assert stream["codec_name"] in ("h264", "vp9")
    assert (stream["width"], stream["height"]) == (320, 180)
    # cut once, kept under the output folder, served again without ffmpeg
    assert Layout(server.out).question_media(vid, t, "jpg").read_bytes() == jpeg
    calls = ffmpeg_calls()
    assert get(server, frame_url)[2] == jpeg and get(server, clip_url)[2] == clip
    assert ffmpeg_calls() == calls
    for path, status, reason in (
        (f"/frame/not-a-video/{t}.jpg", 404, "no catalogued video"),
        (f"/frame/{vid}/99.jpg", 400, "outside video"),
        (f"/frame/{vid}/-1.jpg", 400, "outside video"),
        (f"/frame/{vid}/soon.jpg", 400, "t must be a number"),
        (f"/frame/{vid}/nan.jpg", 400, "finite"),
        (f"/frame/{vid}/1.png", 404, "no frame"),
        (f"/clip/{vid}/1.avi", 404, "no clip"),
    ):
        got, _, body = get(server, path)
        assert got == status and reason in html.unescape(body.decode()), path


def test_a_missing_or_broken_archive_file_falls_back_to_the_thumbnail(server, catalogue):
    archive, out = catalogue
    vid = video_ids(out)["snow_sky.mp4"]
    source, moved = archive / "snow_sky.mp4", archive / "snow_sky.moved"
    # a question about that video: one asked again after its answer was undone
    _, reply = post(
        server, "/api/answer", {"video_id": vid, "t": 3.0, "tag": "snow field", "verdict": "yes"}
    )
    assert post(server, "/api/undo", {"verdict_id": reply["verdict_id"]})[0] == 200
    ext = question_media.clip_format()
    source.rename(moved)
    try:
        asked, page = shown_question(server, f"/questions?again={reply['verdict_id']}")
        assert asked == (vid, 3.0, "snow field")
        assert re.search(r'<img id="frame" src="/files/thumbnails/[^"]+\.jpg"', page)
        assert 'id="no-archive"' in page and "missing or unreadable" in page
        status, _, body = get(server, f"/frame/{vid}/3.3.jpg")
        assert status == 404 and b"missing or unreadable" in body
        assert get(server, f"/clip/{vid}/3.3.{ext}")[0] == 404
        video_page = get(server, f"/video/{vid}")[2].decode()  # no player, and why
        assert 'id="no-player">the archive file' in video_page and 'id="player"' not in video_page
        assert get(server, f"/play/{vid}")[0] == 404
        thumb = re.search(r'src="/files/([^"]+)"', page)[1]
        question = Asked(Question(vid, 3.3, "snow field", 0.5, "uncertain", 0.0), "x", thumb)
        assert str(out / thumb) in server.session.picture(question)  # the terminal's
        source.write_bytes(b"not a video any more")  # there, but ffmpeg cannot read it
        status, _, body = get(server, f"/frame/{vid}/3.3.jpg")
        assert status == 404 and b"ffmpeg could not" in body
        assert not Layout(out).question_media(vid, 3.3, "jpg").exists()
        again = f"/questions?again={reply['verdict_id']}"
        assert f'<img id="frame" src="/frame/{vid}/3.000.jpg"' in shown_question(server, again)[1]
        if CHROMIUM.exists():  # the browser falls back to the thumbnail (/static/fallback.js)
            assert browser_frame_width(server, again) == 160
    finally:
        source.unlink(missing_ok=True)
        moved.rename(source)
    assert get(server, f"/frame/{vid}/3.3.jpg")[0] == 200


def test_answers_page_lists_filters_and_undoes(server):
    ids = video_ids(server.out)
    beach, snow = ids["beach_fire.mp4"], ids["snow_sky.mp4"]
    given = []
    for vid, t, tag, verdict in (
        (beach, 2.0, "beach", "yes"),
        (snow, 7.0, "sky with clouds", "no"),
        (snow, 8.0, "sky with clouds", "unsure"),
    ):
        status, reply = post(
            server, "/api/answer", {"video_id": vid, "t": t, "tag": tag, "verdict": verdict}
        )
        assert status == 200
        given.append(reply["verdict_id"])
    page = get(server, "/verdicts")[2].decode()
    rows = answer_rows(page)
    assert [v for v in rows if v in given] == given[::-1]  # newest first
    assert all(rows[v]["status"] == "in force" and rows[v]["undo"] for v in given)
    when, reviewer, video, time, tag, verdict, scope, source, short, status = rows[given[1]][
        "cells"
    ][:10]
    assert (reviewer, video, time, tag, verdict, scope, source, short, status) == (
        "web",
        "snow_sky.mp4",
        "0:07",
        "sky with clouds",
        "no",
        "frame",
        "question",
        given[1][:8],
        "in force",
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", when)
    assert 'href="/verdicts"' in get(server, "/")[2].decode()  # linked from the archive
    assert 'href="/verdicts"' in get(server, "/questions")[2].decode()  # and the questions

    def listed(**query) -> dict[str, dict]:
        status, _, body = get(server, "/verdicts?" + urlencode(query))
        assert status == 200
        return answer_rows(body.decode())

    by_tag = listed(tag="sky with clouds")
    assert set(given[1:]) <= set(by_tag) and given[0] not in by_tag
    assert all(r["cells"][4] == "sky with clouds" for r in by_tag.values())
    assert given[0] in listed(video="beach_fire.mp4") and given[1] not in listed(video=beach)
    assert set(given[1:]) <= set(listed(video=snow))
    assert set(given) <= set(listed(reviewer="web")) and not listed(reviewer="nobody")
    assert not listed(since="2999-01-01") and set(given) <= set(listed(since="2000-01-01"))
    assert list(listed(limit=1)) == [given[2]]
    assert "The newest 1 of" in get(server, "/verdicts?limit=1")[2].decode()
    assert get(server, "/verdicts?since=soon")[0] == 400
    assert get(server, "/verdicts?limit=lots")[0] == 400

    # Undo from the page comes back to the page, filters kept
    back = "/verdicts?" + urlencode({"tag": "sky with clouds"})
    assert post_form(server, "/api/undo", {"verdict_id": given[1], "back": back}) == (303, back)
    row = listed(tag="sky with clouds")[given[1]]
    assert row["status"] == "undone" and not row["undo"]
    # undo rows (and skips) are listed with all=1 only
    (undo_row,) = [r for r in log(server) if r["undoes"] == given[1]]
    assert undo_row["verdict_id"] not in listed()
    assert listed(all=1)[undo_row["verdict_id"]]["cells"][9] == f"undoes {given[1][:8]}"
    # a `back` that is not one of the review pages is not followed
    status, location = post_form(
        server, "/api/undo", {"verdict_id": given[2], "back": "https://example.com/"}
    )
    assert status == 303 and location == f"/questions?again={given[2]}"


def test_answers_page_shows_what_the_last_learning_step_changed(server):
    layout = Layout(server.out)
    kept = layout.learning_changes.read_bytes() if layout.learning_changes.exists() else None
    changes = [
        {
            "tag": "beach",
            "answers": 3,
            "videos_answered": 1,
            "accept_before": 0.5,
            "accept_after": 0.5,
            "frames_changed": 0,
            "videos_changed": 0,
            "sampled_frames": 30,
            "decision": "kept: all answers are about one video",
            "verdict_ids": ["a" * 32],
        },
        {
            "tag": "snow field",
            "answers": 12,
            "videos_answered": 2,
            "accept_before": 0.42,
            "accept_after": 0.47,
            "frames_changed": 9,
            "videos_changed": 2,
            "sampled_frames": 30,
            "decision": "moved toward 5 <yes> answers",
            "verdict_ids": ["b" * 32],
        },
    ]
    write_table(
        pa.Table.from_pylist(changes, schema=LEARNING_CHANGES),
        layout.learning_changes,
        LEARNING_CHANGES,
    )
    try:
        page = get(server, "/verdicts")[2].decode()
        learning = page[page.index('id="learning"') :]
        snow = re.search(r'<tr data-tag="snow field">(.*?)</tr>', learning)[1]
        cells = [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", snow)]
        assert cells == [
            "snow field",
            "0.42 → 0.47",
            "9 of 30",
            "2",
            "12 (2 videos)",
            "moved toward 5 <yes> answers",
        ]
        assert learning.index('data-tag="snow field"') < learning.index('data-tag="beach"')
        assert "kept: all answers are about one video" in learning
        brief = re.search(r'id="learning-brief">(.*?)</p>', get(server, "/")[2].decode())[1]
        assert "1 of 2 answered tags changed: snow field 0.42 → 0.47 (9 frames)" in brief
    finally:
        if kept is None:
            layout.learning_changes.unlink()
        else:
            layout.learning_changes.write_bytes(kept)


def test_video_page_lists_its_answers_whatever_tags_it_shows(server):
    vid = video_ids(server.out)["snow_sky.mp4"]
    page = get(server, f"/video/{vid}")[2].decode()
    assert 'data-wrong="waterfall"' not in page  # not a tag the video page shows
    _, wrong = post(
        server,
        "/api/answer",
        {
            "video_id": vid,
            "tag": "waterfall",
            "verdict": "no",
            "scope": "video",
            "source": "button",
        },
    )
    _, frame = post(
        server, "/api/answer", {"video_id": vid, "t": 4.0, "tag": "kitchen", "verdict": "no"}
    )
    page = get(server, f"/video/{vid}")[2].decode()
    rows = answer_rows(page[page.index('id="video-answers"') :])
    assert rows[wrong["verdict_id"]]["undo"] and rows[frame["verdict_id"]]["undo"]
    assert rows[wrong["verdict_id"]]["cells"][2:5] == ["whole video", "waterfall", "no"]
    back = f"/video/{vid}"
    assert post_form(server, "/api/undo", {"verdict_id": wrong["verdict_id"], "back": back}) == (
        303,
        back,
    )
    page = get(server, back)[2].decode()
    row = answer_rows(page[page.index('id="video-answers"') :])[wrong["verdict_id"]]
    assert row["status"] == "undone" and not row["undo"]


PROMPT = re.compile(r"Is this '(.+?)'\? (\S+) at ([\d.]+) s")


def test_a_skip_on_the_page_is_not_asked_in_the_terminal_and_back(server):
    names = {v: k for k, v in video_ids(server.out).items()}
    (vid, t, tag), _ = shown_question(server)
    status, reply = post(server, "/api/skip", {"video_id": vid, "t": t, "tag": tag})
    assert status == 200
    skip = next(r for r in log(server) if r["verdict_id"] == reply["verdict_id"])
    assert skip["verdict"] == "skip" and skip["reviewer"] == "web"
    assert skip["score"] == pytest.approx(server.session.score_at(vid, t, tag))
    # the terminal review (its own process, same output folder) does not ask it
    code, stdout, stderr = run_cli(
        "review", "--out", str(server.out), "-n", "20", "--reviewer", "terminal", input="n\nq\n"
    )
    assert code == 0, stderr[-2000:]
    asked = PROMPT.findall(stdout)
    assert len(asked) == 2 and (tag, names[vid], f"{t:.1f}") not in asked, stdout
    (answer,) = [r for r in log(server) if r["reviewer"] == "terminal"]
    assert answer["verdict"] == "no" and answer["score"] is not None
    answered = (answer["video_id"], answer["start"], answer["tag"])
    assert (answer["tag"], names[answer["video_id"]], f"{answer['start']:.1f}") == asked[0]
    # and the page does not ask what the terminal answered, nor the skipped one
    assert shown_question(server)[0] not in ((vid, t, tag), answered)
    fresh = ReviewSession(server.cfg)  # what the next `reelcat review` asks
    queue = {(a.question.video_id, a.question.t, a.question.tag) for a in fresh.questions(40)}
    assert (vid, t, tag) not in queue and answered not in queue


def shown(page) -> tuple[str, float, str]:
    q = page.locator("#question")
    return (
        q.get_attribute("data-video-id"),
        float(q.get_attribute("data-t")),
        q.get_attribute("data-tag"),
    )


def verdict_row(srv, question: tuple[str, float, str], verdict: str) -> dict:
    vid, t, tag = question
    rows = [
        r
        for r in log(srv)
        if r["video_id"] == vid
        and r["tag"] == tag
        and r["start"] == pytest.approx(t)
        and r["verdict"] == verdict
        and r["scope"] == "frame"
    ]
    assert len(rows) == 1, (question, verdict, rows)
    return rows[0]


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no browser at {CHROMIUM}")
def test_questions_answered_in_a_real_browser(server):
    sync_api = pytest.importorskip("playwright.sync_api")
    out = server.out
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(server.url + "/questions")
            first = shown(page)
            answered = int(page.locator("#progress").get_attribute("data-answered"))
            # the frame at the archive's full size (not the 160x90 thumbnail), and a clip
            page.wait_for_function("document.querySelector('#frame').complete")
            assert page.evaluate("document.querySelector('#frame').naturalWidth") == 320
            page.wait_for_function("document.querySelector('#clip').readyState >= 1")
            duration = page.evaluate("document.querySelector('#clip').duration")
            assert duration == pytest.approx(4.0, abs=0.3)

            with page.expect_navigation():
                page.click("#no")
            no = verdict_row(server, first, "no")
            assert no["reviewer"] == "web" and no["source"] in ("question", "audit")
            second = shown(page)
            assert second != first
            assert page.locator("#progress").get_attribute("data-answered") == str(answered + 1)
            shot = Path("/tmp") / f"reelcat-review-questions-{os.getpid()}.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot: {shot}")

            with page.expect_navigation():
                page.keyboard.press("y")
            yes = verdict_row(server, second, "yes")
            third = shown(page)
            assert third not in (first, second)

            with page.expect_navigation():
                page.keyboard.press("z")
            undos = [
                r
                for r in log(server)
                if r["verdict"] == "undo" and r["undoes"] == yes["verdict_id"]
            ]
            assert len(undos) == 1 and undos[0]["tag"] == second[2]
            assert shown(page) == second  # the undone question is asked again

            rows = len(log(server))
            with page.expect_navigation():
                page.keyboard.press("s")
            assert shown(page) != second
            skip = verdict_row(server, second, "skip")  # a skip is a row of the log
            assert len(log(server)) == rows + 1 and skip["score"] is not None

            vid = video_ids(out)["blood_kitchen.mp4"]
            page.goto(f"{server.url}/video/{vid}")
            with page.expect_navigation():
                page.click('button[data-wrong="blood"]')
            (wrong,) = [
                r
                for r in log(server)
                if r["scope"] == "video"
                and r["video_id"] == vid
                and r["tag"] == "blood"
                and r["verdict"] == "no"
            ]
            assert wrong["start"] == 0.0 and wrong["end"] == pytest.approx(10.0, abs=0.2)
            assert "this video is not" in page.locator("#recorded").inner_text()
            video_shot = Path("/tmp") / f"reelcat-review-video-{os.getpid()}.png"
            page.screenshot(path=str(video_shot), full_page=True)
            print(f"screenshot: {video_shot}")
            page.goto(server.url + "/")
            archive_shot = Path("/tmp") / f"reelcat-review-archive-{os.getpid()}.png"
            page.screenshot(path=str(archive_shot), full_page=True)
            print(f"screenshot: {archive_shot}")
        finally:
            browser.close()


def test_answers_outlive_a_rescore_that_takes_their_tag_off_the_video(server, catalogue):
    """Last in this module: it re-runs the pipeline over the shared catalogue."""
    archive, out = catalogue
    vid = video_ids(out)["beach_fire.mp4"]

    def top_tags() -> list[str]:
        con = open_catalog(out)
        try:
            return con.execute(
                "SELECT top_tags FROM video_summaries WHERE video_id = ?", [vid]
            ).fetchone()[0]
        finally:
            con.close()

    assert "beach" in top_tags()
    status, reply = post(
        server,
        "/api/answer",
        {"video_id": vid, "tag": "beach", "verdict": "no", "scope": "video", "source": "button"},
    )
    assert status == 200
    materialize(archive, out)  # what the verdict sensor starts: learn, re-score, rebuild
    assert "beach" not in top_tags()
    page = get(server, f"/video/{vid}")[2].decode()
    assert 'data-wrong="beach"' not in page  # the tag is gone from the video's timelines
    row = answer_rows(page[page.index('id="video-answers"') :])[reply["verdict_id"]]
    assert row["status"] == "in force" and row["undo"]  # but the answer and its Undo are not
    assert answer_rows(get(server, "/verdicts")[2].decode())[reply["verdict_id"]]["undo"]
    back = f"/video/{vid}"
    assert post_form(server, "/api/undo", {"verdict_id": reply["verdict_id"], "back": back}) == (
        303,
        back,
    )
    assert any(r["undoes"] == reply["verdict_id"] for r in log(server))
