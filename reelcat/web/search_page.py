"""The frame search's page (GET /search?q=…): a free text, and the archive's sampled
frames most like it as a grid of stills, each with its video and time, linked to play
the video from there.

The text becomes a query vector as `reelcat search` makes it (the template ensemble,
reelcat.search.index.text_query), from the machine's text cache: a text searched before
needs no model, and the server loads the model only for a new text, once. The frames are
found by reelcat.search.index.search_frames (its usearch index, or an exact scan of a
small archive), and their stills are the archive's own pixels (reelcat.web.pages.still).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from reelcat.config import model_id
from reelcat.feedback.verdict_list import clock
from reelcat.search.index import search_frames, text_query
from reelcat.web import data
from reelcat.web.errors import HttpError
from reelcat.web.pages import esc, page, still, video_href

if TYPE_CHECKING:
    from reelcat.web.app import ReviewServer

SEARCH_HITS = 24  # frames shown unless ?k= says otherwise
MAX_HITS = 200  # the most frames one search shows
MAX_TEXT = 300  # characters of a search text (the text tower reads 77 tokens at most)

# One text embedded at a time: two first searches would each load the model.
_embedding = threading.Lock()


def search_page(server: ReviewServer, query: dict[str, str]) -> bytes:
    """The frames most like `q` (the `k` most alike, most alike first), or a hint when
    nothing was asked."""
    text = (query.get("q") or "").strip()
    k = query.get("k") or str(SEARCH_HITS)
    if not k.isdigit() or not 1 <= int(k) <= MAX_HITS:
        raise HttpError(400, f"k must be a whole number from 1 to {MAX_HITS}, not {k!r}")
    if len(text) > MAX_TEXT:
        raise HttpError(400, f"a search text has at most {MAX_TEXT} characters")
    if not text:
        body = (
            '<h1>Search the frames</h1><p class="muted" id="hint">Describe what a frame '
            "shows (fire at night, a crowded beach) in the box above: the frames most like "
            "it come back, each linked to play its video from there.</p>"
        )
        return page("Search", body)
    cfg = server.cfg
    with _embedding:
        vector = text_query(cfg.model, text)
    with data.open_catalogue(server.layout) as con:
        hits = search_frames(
            con, server.layout, model_id(cfg.model), cfg.sampling.id, vector, int(k)
        )
        names = data.names(con, sorted({h["video_id"] for h in hits}))
    more = (
        f' <a href="/search?{esc(urlencode({"q": text, "k": min(2 * int(k), MAX_HITS)}))}" '
        'id="more">More</a>'
        if len(hits) == int(k) < MAX_HITS
        else ""
    )
    found = (
        f"The {len(hits)} frames most like it, the most alike first: a click plays the "
        f"video from there.{more}"
        if hits
        else "The catalogue has no frames to search yet."
    )
    body = (
        f"<h1>Frames like “{esc(text)}”</h1>"
        f'<p class="muted" id="found" data-found="{len(hits)}">{found}</p>' + hits_html(hits, names)
    )
    return page(f"Search: {text}", body, scripts=("fallback.js",), searched=text)


def hits_html(hits: list[dict], names: dict[str, str]) -> str:
    """The hits as a grid: each frame's still, its video's name and the time, all linked
    to play the video from there."""
    figures = []
    for h in hits:
        vid, t = h["video_id"], h["t"]
        name = names.get(vid, vid)
        figures.append(
            f'<figure class="hit" data-video-id="{esc(vid)}" data-t="{t:.3f}">'
            f"{still(vid, t, name)}<figcaption>"
            f'<a href="{esc(video_href(vid))}?t={t:.2f}">{esc(name)}</a> at <b>{clock(t)}</b>'
            f'<span class="muted"> · similarity {h["similarity"]:.2f}</span>'
            "</figcaption></figure>"
        )
    return f'<div class="hits" id="hits">{"".join(figures)}</div>'
