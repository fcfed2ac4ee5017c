"""Watching the moment: the video page's player, fed by /play/<video_id> with HTTP Range
(the archive file itself, or a low-resolution H.264 copy of a file browsers cannot play),
and the clicks that play from a time (a heat-map cell, a timeline bar, a severity bin, a
flagged moment).

Two synthetic videos are catalogued once (an H.264 .mp4 and an MPEG-4 part 2 .mkv with
sound, as the synthetic archive makes them); the server runs in a thread; a real
headless Chromium plays them. Object storage is read from moto's S3 server.
"""

from __future__ import annotations

import io
import json
import subprocess
import threading

import pytest

from reelcat.feedback import question_media
from reelcat.storage.layout import Layout
from reelcat.synthetic.archive import Shot, make_video
from reelcat.tools import ffprobe_path
from reelcat.web import playback

from .conftest import ffmpeg_calls, materialize, tiny_config
from .test_review_page import CHROMIUM, CHROMIUM_ARGS, video_ids
from .test_review_security import request, running

MP4, MKV = "kitchen_blood.mp4", "forest_beach.mkv"
# (functions, not expressions: Playwright evaluates an expression with eval, which the
# pages' Content-Security-Policy refuses)
PLAYING = """t => { const p = document.querySelector('#player');
  return !p.paused && p.currentTime >= t - 0.05 && p.currentTime < t + 1.5 }"""


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory, ray_local):
    archive = tmp_path_factory.mktemp("playback_archive")
    make_video(archive / MP4, [Shot("kitchen", 5.0), Shot("blood", 5.0)], fps=10, seed=0)
    make_video(archive / MKV, [Shot("forest", 3.0), Shot("beach", 3.0)], fps=10, seed=1, audio=True)
    out = tmp_path_factory.mktemp("playback_out")
    materialize(archive, out)
    return archive, out


@pytest.fixture(scope="module")
def server(catalogue):
    with running(tiny_config(*catalogue)) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"no browser at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


def probe(path) -> dict:
    return json.loads(
        subprocess.run(
            [
                ffprobe_path(),
                "-v",
                "error",
                "-show_entries",
                "format=duration:stream=codec_name,codec_type,width,height",
                "-of",
                "json",
                str(path),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )


def test_browsers_play_mp4_and_webm_as_they_are_and_the_rest_through_a_copy():
    for path, codec in (
        ("/a/x.mp4", "h264"),
        ("/a/X.MP4", "av1"),
        ("/a/x.m4v", "vp9"),
        ("/a/x.mov", "h264"),
        ("s3://bucket/x.webm", "vp8"),
        ("/a/x.webm", "vp9"),
    ):
        assert playback.browser_plays(path, codec), (path, codec)
    for path, codec in (
        ("/a/x.mkv", "mpeg4"),
        ("/a/x.mkv", "h264"),  # Matroska: not every browser opens it
        ("/a/x.avi", "mpeg4"),
        ("/a/x.mp4", "hevc"),
        ("/a/x.mp4", "mpeg4"),
        ("/a/x.webm", "h264"),
        ("/a/x.mp4", None),
    ):
        assert not playback.browser_plays(path, codec), (path, codec)


def test_byte_ranges_and_sending_them_a_chunk_at_a_time():
    ranges = {
        None: None,
        "bytes=0-9": (0, 9),
        "bytes=90-": (90, 99),
        "bytes=-10": (90, 99),
        "bytes=-500": (0, 99),
        "bytes=50-500": (50, 99),
        "bytes=0-1,5-6": None,  # several ranges: sent whole, as RFC 9110 allows
        "items=0-9": None,
        "bytes=9-0": None,
        "bytes=x-9": None,
        "bytes=-": None,
    }
    for header, span in ranges.items():
        assert playback.byte_range(header, 100) == span, header
    for header in ("bytes=100-", "bytes=100-200", "bytes=-0"):
        with pytest.raises(playback.Unsatisfiable):
            playback.byte_range(header, 100)
    data = bytes(range(256)) * 10_000  # 2.5 chunks
    out = io.BytesIO()
    playback.send(io.BytesIO(data), out, 7, len(data) - 3)
    assert out.getvalue() == data[7:-2]
    with pytest.raises(OSError, match="ended"):
        playback.send(io.BytesIO(data[:100]), io.BytesIO(), 0, 199)


def test_the_archive_file_is_served_as_it_is_with_ranges(server, catalogue):
    archive, out = catalogue
    vid = video_ids(out)[MP4]
    data = (archive / MP4).read_bytes()
    size = len(data)
    status, headers, body = request(server, "GET", f"/play/{vid}")
    assert status == 200 and body == data
    assert headers["Content-Type"] == "video/mp4" and headers["Accept-Ranges"] == "bytes"
    assert headers["Content-Length"] == str(size)
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin"  # not for other sites
    etag = headers["ETag"]
    status, headers, body = request(
        server, "GET", f"/play/{vid}", headers={"Range": "bytes=100-199"}
    )
    assert status == 206 and body == data[100:200]
    assert headers["Content-Range"] == f"bytes 100-199/{size}"
    status, _, body = request(server, "GET", f"/play/{vid}", headers={"Range": "bytes=-100"})
    assert status == 206 and body == data[-100:]
    status, headers, _ = request(server, "GET", f"/play/{vid}", headers={"Range": f"bytes={size}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{size}"
    for if_range, expected in ((etag, 206), ('"another file"', 200)):
        asked = {"Range": "bytes=0-9", "If-Range": if_range}
        assert request(server, "GET", f"/play/{vid}", headers=asked)[0] == expected
    status, headers, body = request(server, "HEAD", f"/play/{vid}")
    assert status == 200 and headers["Content-Length"] == str(size) and body == b""
    assert request(server, "GET", "/play/not-a-video")[0] == 404
    assert not Layout(out).proxy(vid, question_media.clip_format()).exists()  # no copy made


def test_a_file_browsers_cannot_play_is_served_as_a_kept_low_resolution_copy(server, catalogue):
    archive, out = catalogue
    vid = video_ids(out)[MKV]
    ext = question_media.clip_format()
    kept = Layout(out).proxy(vid, ext)
    assert not kept.exists()
    calls = ffmpeg_calls()
    replies = []

    def ask() -> None:  # three requests at once: one ffmpeg makes the copy, all get it
        replies.append(request(server, "GET", f"/play/{vid}", headers={"Range": "bytes=0-"}))

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert ffmpeg_calls() == calls + 1
    copy = kept.read_bytes()
    for status, headers, body in replies:
        assert status == 206 and headers["Content-Type"] == f"video/{ext}" and body == copy
    assert headers["Content-Range"] == f"bytes 0-{len(copy) - 1}/{len(copy)}"
    info = probe(kept)
    streams = {s["codec_type"]: s for s in info["streams"]}
    assert streams["video"]["codec_name"] == ("h264" if ext == "mp4" else "vp9")
    assert (streams["video"]["width"], streams["video"]["height"]) == (320, 180)  # not scaled up
    assert streams["audio"]["codec_name"] == ("aac" if ext == "mp4" else "opus")
    assert float(info["format"]["duration"]) == pytest.approx(6.0, abs=0.3)
    assert probe(archive / MKV)["streams"][0]["codec_name"] == "mpeg4"
    status, _, body = request(server, "GET", f"/play/{vid}", headers={"Range": "bytes=10-19"})
    assert status == 206 and body == copy[10:20]
    assert ffmpeg_calls() == calls + 1  # kept: not made again
    page = request(server, "GET", f"/video/{vid}")[2].decode()
    assert 'id="proxy-note"' in page and "Browsers do not play mpeg4 in .mkv" in page
    assert (
        'id="proxy-note"' not in request(server, "GET", f"/video/{video_ids(out)[MP4]}")[2].decode()
    )


@pytest.fixture(scope="module")
def s3_object(tmp_path_factory):
    """A 3 MB object in moto's S3 server, with the AWS environment naming that server."""
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    env = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing-key",
        "AWS_SECRET_ACCESS_KEY": "testing-secret",
        "AWS_REGION": "us-east-1",
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        import boto3

        data = bytes(range(256)) * 12_000
        boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"]).create_bucket(Bucket="reels")
        boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"]).put_object(
            Bucket="reels", Key="a/clip.mp4", Body=data
        )
        yield "s3://reels/a/clip.mp4", data
    moto.stop()


def test_an_archive_file_in_object_storage_is_read_a_range_at_a_time(s3_object):
    url, data = s3_object
    with playback.opened(url) as (fh, size):
        assert size == len(data)
        out = io.BytesIO()
        playback.send(fh, out, 1_000_000, 2_600_000)
    assert out.getvalue() == data[1_000_000:2_600_001]


def test_clicks_play_the_video_from_that_moment(server, catalogue, browser):
    _, out = catalogue
    vid = video_ids(out)[MP4]
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        page.goto(f"{server.url}/video/{vid}")
        page.wait_for_function("() => document.querySelector('#player').readyState >= 1")
        # a readable time axis: ticks every 2 s of the 10 s video, labels 11 px or more
        labels = page.locator("#timelines svg.axis text")
        assert labels.all_text_contents()[:5] == ["0:00", "0:02", "0:04", "0:06", "0:08"]
        sizes = labels.evaluate_all(
            "ts => ts.map(t => [t.getBoundingClientRect().height,"
            " parseFloat(getComputedStyle(t).fontSize)])"
        )
        assert all(height >= 11 and px >= 11 for height, px in sizes), sizes

        def click_and_play(selector: str) -> float:
            link = page.locator(selector).first
            t = float(link.get_attribute("data-seek"))
            link.click()
            page.wait_for_function(PLAYING, arg=t, timeout=15_000)
            assert page.url.endswith(f"?t={t:.2f}")  # the address names the moment
            return t

        assert 1.5 < click_and_play("#severity a[data-seek] >> nth=10") < 4  # a severity bin
        bar_t = click_and_play('#timelines [data-tag="blood"] a[data-seek]')  # a timeline bar
        assert bar_t == pytest.approx(5.0, abs=1.0)
        click_and_play("#severity a[data-seek] >> nth=0")
        flagged_t = click_and_play(".thumbs a[data-seek]")  # a flagged moment's peak frame
        assert flagged_t == pytest.approx(5.0, abs=1.0)
        page.wait_for_function(  # and it goes on playing
            "t => document.querySelector('#player').currentTime > t", arg=flagged_t + 0.5
        )

        # the archive's heat map: the cell 30 of 48 along the video's row
        page.goto(f"{server.url}/")
        row = page.locator(f'.heatmap a[href="/video/{vid}"] rect').bounding_box()
        with page.expect_navigation():
            page.mouse.click(row["x"] + row["width"] * 30.5 / 48, row["y"] + row["height"] / 2)
        assert page.url == f"{server.url}/video/{vid}?t=6.25"
        page.wait_for_function(PLAYING, arg=6.25)
    finally:
        page.close()


def test_a_file_browsers_cannot_play_plays_through_its_copy(server, catalogue, browser):
    _, out = catalogue
    vid = video_ids(out)[MKV]
    page = browser.new_page()
    try:
        page.goto(f"{server.url}/video/{vid}?t=3")
        assert (
            page.evaluate(  # what the browser says about MPEG-4 part 2 itself
                "document.createElement('video').canPlayType('video/mp4; codecs=\"mp4v.20.8\"')"
            )
            == ""
        )
        page.wait_for_function(
            "() => { const p = document.querySelector('#player');"
            " return !p.paused && p.currentTime > 3.3 }",
            timeout=60_000,
        )
        player = page.locator("#player")
        size = player.evaluate("p => [p.videoWidth, p.videoHeight]")
        assert size == [320, 180]
        assert page.locator("#player-error").is_hidden()
        assert "low-resolution copy" in page.locator("#proxy-note").inner_text()
    finally:
        page.close()
