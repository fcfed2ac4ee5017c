"""Search and browse (issue 19, item 2): the frame search page and the archive's filters
and stills, served for real over a small real catalogue.

Three videos are catalogued once: a beach with a fire in its middle, a kitchen that
turns to blood (decided 'review'), and a damaged file. The server runs in a thread; a
real headless Chromium searches, plays a hit and filters the archive; http.client checks
the pages' content, their validation and their escaping.
"""

from __future__ import annotations

import html
import io
import os
import re
from urllib.parse import urlencode

import pytest
from PIL import Image

from catalog.build import open_catalog
from reelcat.feedback.verdict_list import clock
from reelcat.synthetic.archive import Shot, make_video
from reelcat.tagging import text_cache
from reelcat.tagging.scoring import templated

from .conftest import lavfi_video, materialize, tiny_config
from .test_frames import damage_middle
from .test_playback import PLAYING, browser  # noqa: F401 (a fixture)
from .test_review_page import get, video_ids
from .test_review_security import running

FIRE, BLOOD, DAMAGED = "beach_fire.mp4", "kitchen_blood.mp4", "damaged.mp4"


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory, ray_local):
    archive = tmp_path_factory.mktemp("search_archive")
    shots = {
        FIRE: [Shot("beach", 6), Shot("fire", 3), Shot("forest", 3)],
        BLOOD: [Shot("kitchen", 4), Shot("blood", 4)],
    }
    for seed, (name, video) in enumerate(shots.items()):
        make_video(archive / name, video, size=(320, 180), fps=10, seed=seed)
    clean = lavfi_video(tmp_path_factory.mktemp("source") / "clip.mp4", "testsrc2", duration=10)
    damage_middle(clean, archive / DAMAGED)
    out = tmp_path_factory.mktemp("search_out")
    materialize(archive, out)
    return archive, out


@pytest.fixture(scope="module")
def server(catalogue):
    with running(tiny_config(*catalogue)) as srv:
        yield srv


def page_of(srv, path: str) -> str:
    status, _, body = get(srv, path)
    assert status == 200, (path, body[-500:])
    return body.decode()


def hits(page: str) -> list[tuple[str, float]]:
    """(video id, time) of a search page's hits, in the order shown."""
    return [
        (v, float(t))
        for v, t in re.findall(r'class="hit" data-video-id="([^"]+)" data-t="([^"]+)"', page)
    ]


def listed(srv, **query) -> list[str]:
    """The video ids an archive page lists (its tables, in order) for these filters."""
    page = page_of(srv, "/?" + urlencode(query))
    return re.findall(r'<tr data-video-id="([^"]+)">', page)


def test_search_returns_hits_linked_to_their_moment_and_embeds_a_text_once(server):
    ids = video_ids(server.out)
    page = page_of(server, "/search?q=fire")
    found = hits(page)
    assert len(found) == 24 and found[0][0] == ids[FIRE] and 6 <= found[0][1] < 9  # the fire
    vid, t = found[0]
    where = f"{vid}/{t:.3f}.jpg"
    assert (
        f'<a href="/video/{vid}?t={t:.2f}"><img class="still" src="/frame/{where}" '
        f'data-fallback="/thumbnail/{where}" alt="{FIRE} at {clock(t)}" loading="lazy"></a>'
    ) in page
    assert f'<a href="/video/{vid}?t={t:.2f}">{FIRE}</a> at <b>{clock(t)}</b>' in page
    similarities = [float(s) for s in re.findall(r"similarity ([\d.]+)", page)]
    assert similarities == sorted(similarities, reverse=True)
    assert re.search(r'name="q"\s+value="fire"', page)  # the box keeps the text
    assert '<script src="/static/fallback.js"></script>' in page
    # the still is the archive's own frame; its fallback the stored 160 px thumbnail
    status, ctype, jpeg = get(server, f"/frame/{where}")
    assert status == 200 and ctype == "image/jpeg"
    assert Image.open(io.BytesIO(jpeg)).size == (320, 180)
    status, ctype, jpeg = get(server, f"/thumbnail/{where}")
    assert status == 200 and ctype == "image/jpeg"
    assert Image.open(io.BytesIO(jpeg)).size == (160, 90)
    assert get(server, "/thumbnail/not-a-video/1.jpg")[0] == 404
    assert get(server, f"/thumbnail/{vid}/soon.jpg")[0] == 400
    assert get(server, f"/thumbnail/{vid}/1.png")[0] == 404

    # a new text is embedded once (7 templates); searched again, it is read from the cache
    text = "flames at night"
    before = text_cache.embedded().texts
    first = hits(page_of(server, "/search?" + urlencode({"q": text, "k": 5})))
    assert text_cache.embedded().texts == before + len(templated(text))
    assert hits(page_of(server, "/search?" + urlencode({"q": text, "k": 5}))) == first
    assert text_cache.embedded().texts == before + len(templated(text))
    assert len(first) == 5

    # a text is escaped wherever it shows; no text, a hint; bad k, refused
    nasty = '<img src=x>"fire"'
    page = page_of(server, "/search?" + urlencode({"q": nasty}))
    assert "<img src=x>" not in page and html.escape(nasty) in page
    assert 'id="hint"' in page_of(server, "/search?q=")
    for k in ("0", "201", "lots"):
        assert get(server, f"/search?q=fire&k={k}")[0] == 400
    assert get(server, "/search?" + urlencode({"q": "x" * 301}))[0] == 400
    assert 'action="/search"' in page_of(server, "/verdicts")  # the box on every page


def test_archive_filters_list_the_videos_they_name(server):
    ids = video_ids(server.out)
    fire, blood, damaged = ids[FIRE], ids[BLOOD], ids[DAMAGED]
    everything = listed(server)
    assert everything[0] == blood and set(everything) == {fire, blood, damaged}
    assert listed(server, tag="blood") == [blood]
    assert listed(server, tag="beach") == [fire]
    assert set(listed(server, decision="clear")) == {fire, damaged}
    assert listed(server, decision="review") == [blood]
    assert listed(server, risk="0.5") == [blood]
    assert listed(server, damaged="1") == [damaged]
    assert listed(server, decision="review", damaged="1") == []
    assert listed(server, tag="blood", decision="review", risk="0.5") == [blood]

    page = page_of(server, "/?" + urlencode({"tag": "blood", "decision": "review", "risk": "0.5"}))
    assert 'data-matching="1">1 of 3 videos match' in page
    assert '<option value="blood" selected>blood</option>' in page
    assert '<option value="review" selected>review</option>' in page
    assert 'name="risk" min="0" step="0.05" value="0.5"' in page
    assert '<option value="beach">beach</option>' in page  # the tags the videos carry
    assert "<h2>Review first (1)</h2>" in page and "<h2>Cleared (0)</h2>" in page
    assert 'id="clear-filters"' in page
    assert 'id="clear-filters"' not in page_of(server, "/?tag=&decision=&risk=")  # none set
    page = page_of(server, "/?damaged=1")
    assert 'name="damaged" value="1" checked' in page and page.count('data-damaged="1"') == 1
    page = page_of(server, "/?" + urlencode({"tag": "<b>x</b>"}))  # escaped, offered, none
    assert "<b>x</b>" not in page and 'value="&lt;b&gt;x&lt;/b&gt;" selected' in page
    assert 'data-matching="0"' in page

    # a page at a time, in queue order, the filters kept in the links
    assert (
        listed(server, limit=1) + listed(server, limit=1, page=2) + listed(server, limit=1, page=3)
        == everything
    )
    page = page_of(server, "/?decision=clear&limit=1")
    assert 'Videos 1–1 of 2. <a href="/?decision=clear&amp;limit=1&amp;page=2" rel="next">' in page
    assert 'type="hidden" name="limit" value="1"' in page  # the form keeps the page size
    assert 'rel="next"' not in page_of(server, "/?decision=clear&limit=1&page=2")
    for bad in ("decision=maybe", "risk=lots", "risk=nan", "limit=0", "limit=501", "page=0"):
        assert get(server, f"/?{bad}")[0] == 400, bad


def test_each_video_has_a_still_at_its_peak_or_middle(server):
    ids = video_ids(server.out)
    con = open_catalog(server.out)
    try:
        ((peak_t,),) = con.execute(
            "SELECT peak_t FROM moderation_segments WHERE video_id = ?", [ids[BLOOD]]
        ).fetchall()
    finally:
        con.close()
    page = page_of(server, "/")
    stills = dict(re.findall(r'<img class="still" src="/frame/([^/]+)/([\d.]+)\.jpg"', page))
    assert set(stills) == set(ids.values())
    assert float(stills[ids[BLOOD]]) == pytest.approx(peak_t) and 4 <= peak_t <= 8  # flagged
    assert float(stills[ids[FIRE]]) == pytest.approx(6.0, abs=0.1)  # the middle of 12 s
    vid = ids[BLOOD]
    assert f'<a href="/video/{vid}?t={peak_t:.2f}"><img class="still"' in page


def test_search_returns_and_plays_a_hit(server, browser):  # noqa: F811 (the fixture)
    ids = video_ids(server.out)
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        page.goto(f"{server.url}/")
        page.fill('header input[name="q"]', "fire")
        with page.expect_navigation():
            page.press('header input[name="q"]', "Enter")
        assert page.url == f"{server.url}/search?q=fire"
        hit = page.locator("#hits figure.hit").first
        vid, t = hit.get_attribute("data-video-id"), float(hit.get_attribute("data-t"))
        assert vid == ids[FIRE] and 6 <= t < 9
        still = hit.locator("img.still")
        still.evaluate("i => i.decode()")
        # the archive's own frame (not the 160 px thumbnail), shown large enough to judge
        assert still.evaluate("i => i.naturalWidth") == 320
        assert still.bounding_box()["width"] >= 300
        with page.expect_navigation():
            still.click()
        assert page.url == f"{server.url}/video/{vid}?t={t:.2f}"
        page.wait_for_function(PLAYING, arg=t, timeout=15_000)  # it plays from the hit's time
    finally:
        page.close()


def test_archive_filters_and_stills_in_a_browser(server, catalogue, browser):  # noqa: F811
    archive, _ = catalogue
    ids = video_ids(server.out)
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        page.goto(f"{server.url}/")
        page.select_option('#archive-filters select[name="decision"]', "review")
        with page.expect_navigation():
            page.click("#archive-filters button")
        assert "decision=review" in page.url
        rows = page.locator("tr[data-video-id]")
        assert rows.count() == 1 and rows.first.get_attribute("data-video-id") == ids[BLOOD]
        still = rows.first.locator("img.still")
        still.evaluate("i => i.decode()")
        assert still.evaluate("i => i.naturalWidth") == 320
        assert still.bounding_box()["width"] >= 200
        # the archive file gone: the still falls back to the stored thumbnail
        source, moved = archive / BLOOD, archive / (BLOOD + ".moved")
        source.rename(moved)
        try:
            page.goto(f"{server.url}/?tag=blood")
            page.wait_for_function(
                "() => document.querySelector('img.still').src.includes('/thumbnail/')"
            )
            still = page.locator("img.still")
            still.evaluate("i => i.decode()")
            assert still.evaluate("i => i.naturalWidth") == 160
        finally:
            moved.rename(source)
        for path, name in (("/", "archive"), ("/search?q=fire", "search")):
            page.goto(server.url + path)
            page.wait_for_load_state("networkidle")
            shot = f"/tmp/reelcat-{name}-stills-{os.getpid()}.png"
            page.screenshot(path=shot, full_page=True)
            print(f"screenshot: {shot}")
    finally:
        page.close()
