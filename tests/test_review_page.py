"""The review web page, served for real over a small real catalogue.

Three synthetic videos are catalogued once by the Dagster graph on local Ray; the server
runs in a thread on a free port; a real Chromium (Playwright) answers questions, and
urllib/http.client check the pages, the API's validation and the file sandbox.
"""

from __future__ import annotations

import html
import http.client
import json
import os
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from catalog.build import open_catalog
from reelcat.storage.layout import Layout
from reelcat.synthetic.archive import Shot, make_video
from reelcat.web.app import make_server

from .conftest import materialize, tiny_config

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


def post(srv, path: str, body: dict | bytes) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(
        srv.url + path, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


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
    for kind in ("severity", "cloud", "tags"):  # drawn when the page asks for them
        assert f'src="/picture/{vid}/{kind}.png"' in page
        status, ctype, png = get(server, f"/picture/{vid}/{kind}.png")
        assert status == 200 and ctype == "image/png" and png.startswith(b"\x89PNG")
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
    for path in ("/", f"/video/{vid}", "/questions"):
        status, headers, body = get_with_headers(server, path)
        page = body.decode()
        assert status == 200, path
        policy = headers["Content-Security-Policy"]
        assert "style-src 'self'" in policy and "script-src 'self'" in policy, path
        assert "unsafe-inline" not in policy, path
        assert "<style" not in page and "style=" not in page, path
        assert '<link rel="stylesheet" href="/static/style.css">' in page, path
        assert "<script>" not in page, path
    assert '<script src="/static/keys.js"></script>' in get(server, "/questions")[2].decode()
    status, ctype, css = get(server, "/static/style.css")
    assert status == 200 and ctype.startswith("text/css") and b".timeline" in css
    status, ctype, js = get(server, "/static/keys.js")
    assert status == 200 and ctype.startswith("text/javascript") and b"keydown" in js
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
            assert shown(page) != second and len(log(server)) == rows  # skipping writes nothing

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
