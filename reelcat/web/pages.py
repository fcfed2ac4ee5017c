"""The review pages as HTML: the archive (filtered by GET query parameters), one video,
the questions, the answers given (with what the last learning step changed), an error;
the frame search's page is reelcat.web.search_page. Every page's header has the search
box.

Each page function reads what it shows (the catalogue through reelcat.web.data, the
review session under the server's lock) and returns the whole document as bytes. Pages
link /static/style.css and their scripts (/static/keys.js for the questions' keys,
/static/play.js for the player and the heat map, /static/fallback.js for frames cut from
the archive file): nothing inline, so the server's Content-Security-Policy can refuse
inline styles and scripts. Every POST form of a page carries the server's CSRF token (a
hidden `csrf` field, added by `page`), and the page's <meta name="reelcat-token"> gives
it to scripts.

A moment of a video is linked as /video/<id>?t=<seconds> (a heat-map cell, a still of
the archive or a search hit), which plays it from there; on the video page itself a
timeline bar, a severity bin or a flagged moment links to ?t= with `data-seek`, and the
script seeks the player instead of reloading the page.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

import duckdb
from PIL import Image

from reelcat.feedback import question_media, verdict_list
from reelcat.feedback.questions import Question
from reelcat.feedback.review_session import Asked, ReviewSession
from reelcat.feedback.verdict_list import Filters, clock
from reelcat.feedback.verdicts import VerdictError
from reelcat.moderation.moderate import HEATMAP_BINS
from reelcat.moderation.step import HEATMAP_MAX_ROWS
from reelcat.pictures import NO_DATA_COLOUR, heatmap_layout, severity_colour
from reelcat.storage.layout import Layout
from reelcat.web import data, playback
from reelcat.web.errors import HttpError

if TYPE_CHECKING:
    from reelcat.web.app import ReviewServer

QUESTION_BATCH = 20  # questions computed per page view; the first is shown
VERDICTS_SHOWN = 50  # answers the answers page lists unless ?limit= says otherwise
ARCHIVE_SHOWN = 100  # videos a page of the archive lists unless ?limit= says otherwise
QUEUE_LIMIT = 500  # the most videos one page of the archive lists
DECISIONS = ("review", "clear")  # the moderation step's decisions, the archive's filter
POST_FORM = re.compile(r'<form method="post"[^>]*>')
AXIS_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400)  # seconds
AXIS_TICKS = 8  # labelled ticks on a time axis, at most
REASONS = {
    "uncertain": "the model is unsure: the score sits between the review and accept thresholds",
    "flicker": "the tag flickers on and off between neighbouring frames",
    "audit": "a random check of a frame the model accepted (keeps precision estimates honest)",
}


# ----------------------------------------------------------------------------- helpers


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def video_href(video_id: str) -> str:
    return "/video/" + quote(video_id, safe="")


def file_href(rel: str) -> str:
    """The URL of a file inside the output folder, given its output-relative path."""
    return "/files/" + quote(rel)


def hidden(**fields: object) -> str:
    return "".join(
        f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">'
        for k, v in fields.items()
        if v is not None
    )


def page(
    title: str,
    body: str,
    *,
    token: str | None = None,
    scripts: Sequence[str] = (),
    searched: str = "",
) -> bytes:
    """The whole document, its header with the frame search box (filled with `searched`);
    `token` (the server's CSRF token) goes into each POST form and a <meta>; `scripts`
    are the /static/ scripts it loads."""
    script = "".join(f'<script src="/static/{esc(name)}"></script>' for name in scripts)
    meta = ""
    if token is not None:
        body = POST_FORM.sub(lambda m: m[0] + hidden(csrf=token), body)
        meta = f'<meta name="reelcat-token" content="{esc(token)}">\n'
    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{meta}<title>{esc(title)} · reelcat</title><link rel="stylesheet" href="/static/style.css"></head>
<body><header><strong>reelcat review</strong>
<form method="get" action="/search" role="search" class="search"><input type="search" name="q"
 value="{esc(searched)}" placeholder="Search frames, e.g. fire at night"
 aria-label="search the archive's frames"><button class="small">Search</button></form>
<a href="/">Archive</a><a href="/questions">Questions</a><a href="/verdicts">Answers</a></header>
<main>{body}</main>{script}</body></html>"""
    return doc.encode("utf-8")


def picture(layout: Layout, path: Path, alt: str) -> str:
    """A chart the pipeline drew, or a note that it has not been drawn yet."""
    if not path.is_file():
        return f'<p class="muted">({esc(alt)}: not drawn yet)</p>'
    return f'<img class="pic" src="{esc(file_href(layout.relative(path)))}" alt="{esc(alt)}">'


def video_img(video_id: str, kind: str, alt: str) -> str:
    """One of the video's pictures, drawn by the server when the page asks for it."""
    src = f"/picture/{quote(video_id, safe='')}/{kind}.png"
    return f'<img class="pic" src="{esc(src)}" alt="{esc(alt)}">'


def thumbnail_img(rel: str | None, alt: str) -> str:
    if not rel:
        return '<p class="muted">(no thumbnail stored)</p>'
    return f'<img src="{esc(file_href(rel))}" alt="{esc(alt)}">'


def still(video_id: str, t: float, name: str) -> str:
    """The archive's frame at `t` of the video `name`, full size, linked to play the video
    from there. The frame is cut when the browser first asks for it (/frame/…, kept
    after), and only once it scrolls into view; /static/fallback.js puts the stored
    thumbnail of the nearest sampled frame (/thumbnail/…) in its place when the archive
    file cannot be read."""
    where = f"{quote(video_id, safe='')}/{t:.3f}.jpg"
    return (
        f'<a href="{esc(video_href(video_id))}?t={t:.2f}"><img class="still" '
        f'src="/frame/{esc(where)}" data-fallback="/thumbnail/{esc(where)}" '
        f'alt="{esc(name)} at {clock(t)}" loading="lazy"></a>'
    )


def seek_link(t: float, inner: str) -> str:
    """`inner` as a link to the moment `t` of the video whose page it is on: the page's
    script seeks the player there; without it, the page reloads playing from there."""
    return f'<a href="?t={t:.2f}" data-seek="{t:.2f}">{inner}</a>'


def axis_ticks(duration: float) -> list[float]:
    """Times for a time axis: every 1, 2, 5, 10, 15 or 30 s, 1, 2, 5, 10, 15 or 30 min, or
    hours (the finest step with at most AXIS_TICKS ticks), from 0 to the end."""
    if not duration > 0:
        return [0.0]
    step = next(
        (s for s in AXIS_STEPS if duration / s <= AXIS_TICKS),
        3600 * math.ceil(duration / 3600 / AXIS_TICKS),
    )
    return [k * float(step) for k in range(int(duration // step) + 1)]


def axis_svg(duration: float) -> str:
    """The time axis under the timelines: a tick and an m:ss label at each of
    `axis_ticks`, placed in percent of the width (the style sheet sizes the labels)."""
    marks = []
    for t in axis_ticks(duration):
        x = 100 * t / duration if duration > 0 else 0.0
        anchor = "start" if x < 2 else "end" if x > 98 else "middle"
        marks.append(
            f'<line x1="{x:.2f}%" x2="{x:.2f}%" y1="0" y2="5"/>'
            f'<text x="{x:.2f}%" y="19" text-anchor="{anchor}">{clock(t)}</text>'
        )
    return f'<svg class="axis" role="img" aria-label="time">{"".join(marks)}</svg>'


def strip_svg(width: float, duration: float, marks: list[str], background: str) -> str:
    """A timeline strip `width` units wide (stretched to the page's width), its
    `background`, a faint line at each axis tick, then its marks."""
    grid = "".join(
        f'<line class="grid" x1="{x:.3f}" x2="{x:.3f}" y1="0" y2="10"/>'
        for x in (width * t / duration for t in axis_ticks(duration)[1:])
    )
    return (
        f'<svg viewBox="0 0 {width:g} 10" preserveAspectRatio="none" role="img">'
        f'<rect x="0" y="0" width="{width:g}" height="10" fill="{background}"/>'
        + grid
        + "".join(marks)
        + "</svg>"
    )


def timeline_svg(segments: list[dict], duration: float) -> str:
    """A strip with one bar per time range where a tag holds, darker where it scores
    higher; a click on a bar plays the video from the range's start."""
    bars = []
    for s in segments:
        x = 100 * s["start"] / duration
        w = max(100 * (s["end"] - s["start"]) / duration, 0.6)
        alpha = min(1.0, max(0.35, s["mean_score"]))
        bars.append(
            seek_link(
                s["start"],
                f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="10" fill="#3465a4" '
                f'fill-opacity="{alpha:.2f}"><title>{clock(s["start"])}–{clock(s["end"])}, '
                f"mean score {s['mean_score']:.2f}, peak {s['peak_score']:.2f} at "
                f"{clock(s['peak_t'])}</title></rect>",
            )
        )
    return strip_svg(100, duration, bars, "#e9ecef")


def severity_svg(severity: dict[int, float], duration: float) -> str:
    """The video's severity over time: its HEATMAP_BINS bins in the heat map's colours
    (grey: no data); a click on a bin plays the video from the bin's start."""
    step = duration / HEATMAP_BINS
    cells = [
        seek_link(
            b * step,
            f'<rect x="{b}" y="0" width="1.02" height="10" fill="{colour(severity_colour(v))}">'
            f"<title>{clock(b * step)}–{clock((b + 1) * step)}, severity {v:.2f}</title></rect>",
        )
        for b, v in sorted(severity.items())
    ]
    return strip_svg(HEATMAP_BINS, duration, cells, colour(NO_DATA_COLOUR))


def colour(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in rgb)


# ----------------------------------------------------------------------------- archive


def archive_page(server: ReviewServer, query: dict[str, str]) -> bytes:
    """The heat map, the filters (GET query parameters: a link to them shows the same
    list), one page of the videos they let through in queue order (to review first, then
    cleared), each with a still, and the tag chart."""
    filters, limit, number = archive_query(query)
    layout = server.layout
    with data.open_catalogue(layout) as con:
        counts = data.decisions(con)
        matching = data.decisions(con, filters)
        rows = data.queue(con, filters, limit, (number - 1) * limit)
        heat_rows = data.heatmap_rows(con, HEATMAP_MAX_ROWS)
        tags = data.archive_tags(con)
    with server.lock:
        answered = server.fresh_session().progress()["answered"]
    total, found = sum(counts.values()), sum(matching.values())
    to_review = [r for r in rows if r["decision"] == "review"]
    cleared = [r for r in rows if r["decision"] != "review"]
    paging = archive_pages(query, found, len(rows), limit, number)
    body = f"""
<h1>The archive</h1>
<p>{counts.get("review", 0)} of {total} videos need review.
<a href="/questions">Answer questions</a> about uncertain frames ({answered} answered so far;
<a href="/verdicts" id="answers-link">see and undo the answers</a>).</p>
{learning_brief(data.learning_changes(layout))}
<div class="card">{heatmap_html(layout, heat_rows, total)}</div>
{archive_form(query, tags, filters)}
<p class="muted" id="matching" data-matching="{found}">{found} of {total} videos match.</p>
<h2>Review first ({matching.get("review", 0)})</h2>{queue_table(to_review)}
<h2>Cleared ({found - matching.get("review", 0)})</h2>{queue_table(cleared)}{paging}
<h2>What the archive holds</h2>
<div class="card">{picture(layout, layout.tag_frequencies_chart, "tag frequencies")}</div>
"""
    return page("Archive", body, token=server.csrf_token, scripts=("play.js", "fallback.js"))


def archive_query(query: dict[str, str]) -> tuple[data.ArchiveFilters, int, int]:
    """The archive page's query parameters (tag, decision, risk: the least, damaged: 1,
    limit: videos a page, page: from 1) as filters, limit and page (HttpError 400 when
    bad)."""
    decision = query.get("decision") or None
    if decision not in (None, *DECISIONS):
        raise HttpError(400, f"decision must be review or clear, not {decision!r}")
    risk = None
    if query.get("risk"):
        try:
            risk = float(query["risk"])
        except ValueError:
            risk = math.nan
        if not math.isfinite(risk):
            raise HttpError(400, f"risk must be a number, not {query['risk']!r}")
    limit, number = query.get("limit") or str(ARCHIVE_SHOWN), query.get("page") or "1"
    if not limit.isdigit() or not 1 <= int(limit) <= QUEUE_LIMIT:
        raise HttpError(400, f"limit must be a whole number from 1 to {QUEUE_LIMIT}, not {limit!r}")
    if not number.isdigit() or int(number) < 1:
        raise HttpError(400, f"page must be a whole number from 1, not {number!r}")
    filters = data.ArchiveFilters(
        tag=query.get("tag") or None,
        decision=decision,
        min_risk=risk,
        damaged=query.get("damaged") in ("1", "on", "true"),
    )
    return filters, int(limit), int(number)


def archive_form(query: dict[str, str], tags: list[str], filters: data.ArchiveFilters) -> str:
    """The archive's filters as a GET form (it works without scripts), filled in with the
    current ones (a tag asked for that no video carries is offered too), and a link that
    clears them when some are set."""

    def options(values: Sequence[str], chosen: str) -> str:
        return "".join(
            f'<option value="{esc(v)}"{" selected" if v == chosen else ""}>{esc(v or "any")}'
            "</option>"
            for v in ("", *values)
        )

    tag = query.get("tag", "")
    offered = tags if not tag or tag in tags else [*tags, tag]
    checked = " checked" if filters.damaged else ""
    limit = hidden(limit=query.get("limit") or None)
    clear = ' <a href="/" id="clear-filters">Clear</a>' if filters != data.ArchiveFilters() else ""
    return (
        f'<form method="get" action="/" class="filters card" id="archive-filters">'
        f'<label>Tag <select name="tag">{options(offered, tag)}</select></label>'
        f'<label>Decision <select name="decision">'
        f"{options(DECISIONS, query.get('decision', ''))}</select></label>"
        f'<label>Risk at least <input type="number" name="risk" min="0" step="0.05" '
        f'value="{esc(query.get("risk", ""))}" placeholder="0"></label>'
        f'<label><input type="checkbox" name="damaged" value="1"{checked}> damaged only</label>'
        f'{limit}<button class="small">Filter</button>{clear}</form>'
    )


def archive_pages(query: dict[str, str], found: int, shown: int, limit: int, number: int) -> str:
    """Which videos of those matching this page lists, with links to the pages before
    and after it (the same filters); nothing when one page holds them all."""
    if found <= limit and number == 1:
        return ""
    first = (number - 1) * limit

    def link(n: int, rel: str, text: str) -> str:
        return f'<a href="/?{esc(urlencode({**query, "page": n}))}" rel="{rel}">{text}</a>'

    links = []
    if number > 1:
        links.append(link(number - 1, "prev", "← previous"))
    if first + shown < found:
        links.append(link(number + 1, "next", "next →"))
    where = f"Videos {first + 1}–{first + shown} of {found}" if shown else "No videos here"
    return f'<p class="pages" id="pages">{where}. {" · ".join(links)}</p>'


def heatmap_html(layout: Layout, rows: list[dict], total: int) -> str:
    """The heat map the pipeline drew (the queue's first HEATMAP_MAX_ROWS videos, each
    row its own video's start to end) under a link per row, placed by `heatmap_layout`:
    /static/play.js opens the video at the time of the cell clicked; without it a row
    opens its video at the start. Without links when the picture is not the size that
    layout says (drawn for other rows)."""
    img = picture(layout, layout.heatmap, "heat map of sensitive content")
    if not layout.heatmap.is_file() or not rows:
        return img
    geo = heatmap_layout(total, HEATMAP_BINS, max_rows=HEATMAP_MAX_ROWS)
    with Image.open(layout.heatmap) as drawn:
        if drawn.size != (geo["width"], geo["height"]):
            return img
    top, height = geo["top"], geo["row_height"]
    links = "".join(
        f'<a href="{esc(video_href(r["video_id"]))}" data-duration="{r["duration"] or 0:.3f}">'
        f'<title>{esc(r["file_name"])}</title><rect x="{geo["left"]}" y="{top + i * height}" '
        f'width="{geo["plot_width"]}" height="{height}"/></a>'
        for i, r in enumerate(rows[: geo["n_shown"]])
    )
    return (
        f'<div class="heatmap">{img}<svg viewBox="0 0 {geo["width"]} {geo["height"]}" '
        f'preserveAspectRatio="none" data-left="{geo["left"]}" '
        f'data-width="{geo["plot_width"]}" data-bins="{HEATMAP_BINS}">{links}</svg></div>'
    )


def learning_brief(changes: list[dict]) -> str:
    """One line on what the last learning step changed, linking to the details."""
    if not changes:
        return ""
    moved = [c for c in changes if c["frames_changed"] or c["accept_after"] != c["accept_before"]]
    shown = ", ".join(
        f"{esc(c['tag'])} {threshold_change(c)} ({c['frames_changed'] or 0} frames)"
        for c in moved[:4]
    )
    what = f"{len(moved)} of {len(changes)} answered tags changed" + (f": {shown}" if shown else "")
    return (
        f'<p class="notice" id="learning-brief">The last learning step: {what}. '
        f'<a href="/verdicts#learning">What and why</a></p>'
    )


def threshold_change(change: dict) -> str:
    """A tag's accept threshold before → after the learning step ("?" where unknown)."""
    before, after = change["accept_before"], change["accept_after"]
    return " → ".join("?" if x is None else f"{x:.2f}" for x in (before, after))


def queue_table(rows: list[dict]) -> str:
    """Rows of the review queue: a still (linked to play the video from there), name and
    evidence, decision, risk, flagged ranges, length."""
    if not rows:
        return '<p class="muted">None.</p>'
    body = []
    for r in rows:
        ranges = "".join(
            f'<span class="range" title="peak {s["peak"]:.2f}">'
            f"{esc(s['concept'])} {clock(s['start'])}–{clock(s['end'])}</span>"
            for s in r["time_ranges"]
        )
        damage = (
            f'<div class="damage" data-damaged="1">{esc(r["damage"])}</div>'
            if r.get("damage")
            else ""
        )
        shown = r["still_t"] is not None
        body.append(
            f'<tr data-video-id="{esc(r["video_id"])}">'
            f"<td>{still(r['video_id'], r['still_t'], r['file_name']) if shown else '–'}</td>"
            f'<td><a href="{esc(video_href(r["video_id"]))}">{esc(r["file_name"])}</a>'
            f'{damage}<div class="muted">{esc(r["evidence"] or "")}</div></td>'
            f'<td><span class="badge {esc(r["decision"])}">{esc(r["decision"])}</span></td>'
            f'<td class="num">{r["risk"]:.2f}</td><td>{ranges or "–"}</td>'
            f'<td class="num">{clock(r["duration"])}</td></tr>'
        )
    return (
        '<table class="queue"><colgroup><col class="still"><col class="video">'
        '<col class="decision"><col class="risk"><col><col class="length"></colgroup>'
        "<thead><tr><th></th><th>Video</th><th>Decision</th><th>Risk</th>"
        "<th>Flagged time ranges</th><th>Length</th></tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )


# ----------------------------------------------------------------------------- video


def video_page(
    server: ReviewServer, video_id: str, query: dict[str, str], start: float | None = None
) -> bytes:
    """The player (playing from `start` seconds when given), summary, severity and tag
    timelines on one time axis with a "that's wrong" button per tag, flagged moments, word
    cloud, tag chart and the answers about the video."""
    layout = server.layout
    with data.open_catalogue(layout) as con:
        info = data.video(con, video_id)
        if info is None:
            raise HttpError(404, f"no video {video_id!r} in the catalogue")
        summary = data.summary(con, video_id) or {}
        risk = data.risk(con, video_id)
        segments = data.tag_segments(con, video_id)
        severity = data.severity(con, video_id)
        flagged = data.flagged(con, video_id)
        marked = data.marked_wrong(con, video_id)
        last = data.verdict(con, query.get("last"))
        answers, answered = verdict_list.listed(con, Filters(video=video_id, limit=VERDICTS_SHOWN))
        duration = info["duration"] or 0.0
        if start is not None:
            start = min(max(start, 0.0), duration)
        player = player_html(layout, con, video_id, start)
    name = info["file_name"]
    top = list(summary.get("top_tags") or [])
    coverage = dict(zip(top, summary.get("top_coverage") or [], strict=False))
    wrong_tags = top + [c for c in dict.fromkeys(s["concept"] for s in flagged) if c not in top]
    about = summary.get("about") or "no summary yet"

    parts = [
        f'<h1>{esc(name)}</h1><p class="muted">{clock(duration)} · id {esc(video_id)}'
        + (
            f' · <span class="badge {esc(risk["decision"])}">{esc(risk["decision"])}</span>'
            f" risk {risk['risk']:.2f}"
            if risk
            else ""
        )
        + "</p>",
        f'<p class="about" id="about">{esc(about)}</p>',
    ]
    if summary.get("damage"):  # decoded with errors: what it shows comes from what decoded
        parts.append(
            f'<p class="notice" id="damage">{esc(summary["damage"])}. What this page shows '
            "comes from the frames that decoded.</p>"
        )
    if last and last["video_id"] == video_id and last["scope"] == "video":
        parts.append(
            f'<div class="notice" id="recorded">Recorded: this video is not '
            f'<b>{esc(last["tag"])}</b>.<form method="post" action="/api/undo">'
            f'{hidden(verdict_id=last["verdict_id"])}<button class="small">Undo</button>'
            f"</form></div>"
        )
    parts.append(player)
    if duration > 0:
        lines = [
            '<div><b>severity</b><div class="muted">sensitive content</div></div>'
            f'<div id="severity">{severity_svg(severity, duration)}</div><div></div>'
        ]
        for tag in wrong_tags:
            share = f"{coverage[tag]:.0%} of the time" if tag in coverage else "flagged"
            lines.append(
                f'<div><b>{esc(tag)}</b><div class="muted">{share}</div></div>'
                f'<div data-tag="{esc(tag)}">{timeline_svg(segments.get(tag, []), duration)}'
                f"</div><div>{wrong_button(video_id, tag, marked.get(tag))}</div>"
            )
        parts.append(
            '<h2>Over time</h2><div class="card timeline" id="timelines">'
            + "".join(lines)
            + f"<div></div>{axis_svg(duration)}<div></div></div>"
        )
    if risk and risk.get("evidence"):
        parts.append(f'<p class="muted">{esc(risk["evidence"])}</p>')
    if flagged:
        figs = "".join(
            f"<figure>{seek_link(s['start'], thumbnail_img(s['thumbnail'], 'peak frame'))}"
            f"<figcaption><b>{esc(s['concept'])}</b> {clock(s['start'])}–{clock(s['end'])}"
            f"<br>peak {s['peak']:.2f} at {clock(s['peak_t'])} · {esc(s['level'])}"
            f"</figcaption></figure>"
            for s in flagged
        )
        parts.append(f'<h2>Flagged moments</h2><div class="grid thumbs">{figs}</div>')
    parts.append(
        '<h2>What it is about</h2><div class="grid"><div class="card">'
        + video_img(video_id, "cloud", "word cloud")
        + '</div><div class="card">'
        + video_img(video_id, "tags", "top tags bar chart")
        + "</div></div>"
    )
    parts.append(video_answers_html(video_id, answers, answered))
    return page(name, "".join(parts), token=server.csrf_token, scripts=("play.js",))


def player_html(
    layout: Layout, con: duckdb.DuckDBPyConnection, video_id: str, start: float | None
) -> str:
    """The video player (/play/<id>), starting at `start` seconds when given, with a note
    when it plays a low-resolution copy; why not, when the archive file cannot be read."""
    try:
        source = question_media.archive_file(con, video_id)
    except question_media.MediaError as exc:
        return f'<p class="notice" id="no-player">{esc(exc)}: nothing to play.</p>'
    codec = data.codec(con, source["path"])
    note = ""
    if not playback.browser_plays(source["path"], codec):
        made = layout.proxy(video_id, question_media.clip_format()).exists()
        note = (
            f'<p class="muted" id="proxy-note">Browsers do not play {esc(codec or "its codec")} '
            f"in {esc(playback.suffix(source['path']) or 'this file')}: this is a "
            "low-resolution copy"
            + ("" if made else ", made now for its first play (wait a moment) and kept")
            + ".</p>"
        )
    src = f"/play/{quote(video_id, safe='')}"
    when = ""
    if start is not None:  # the media fragment starts it there without the script too
        src += f"#t={start:.2f}"
        when = f' data-start="{start:.2f}"'
    return (
        f'<div class="card player"><video id="player" src="{esc(src)}"{when} controls '
        f'playsinline preload="metadata"></video>{note}<p class="notice" id="player-error" '
        "hidden></p></div>"
    )


def video_answers_html(video_id: str, rows: list[dict], matching: int) -> str:
    """Every answer about the video, whether or not its tag is still shown above (a
    re-score can take a tag off the video), each in force with its Undo."""
    more = (
        f' <a href="/verdicts?{urlencode({"video": video_id})}">All {matching}</a>'
        if matching > len(rows)
        else ""
    )
    return (
        f'<h2>Answers about this video ({matching})</h2><div id="video-answers">'
        + answers_table(rows, back=video_href(video_id), video=False)
        + f"{more}</div>"
    )


def wrong_button(video_id: str, tag: str, marked: dict | None) -> str:
    """ "That's wrong" (the whole video is not this tag), or Undo once it was said."""
    if marked is not None:
        return (
            f'<span class="muted">marked wrong</span> <form method="post" '
            f'action="/api/undo" class="inline">{hidden(verdict_id=marked["verdict_id"])}'
            f'<button class="small">Undo</button></form>'
        )
    fields = hidden(video_id=video_id, t=0.0, tag=tag, verdict="no", scope="video", source="button")
    return (
        f'<form method="post" action="/api/answer">{fields}'
        f'<button class="small" data-wrong="{esc(tag)}" title="record that '
        f"this video is not {esc(tag)}\">That's wrong</button></form>"
    )


# ----------------------------------------------------------------------------- questions


def _asked_again(session: ReviewSession, row: dict) -> Asked:
    """The question whose answer was just undone, asked again."""
    vid, t, tag = row["video_id"], row["start"], row["tag"]
    thumbs = session.thumbnails({vid: [t]})
    reason = "audit" if row["source"] == "audit" else "again"
    score = session.score_at(vid, t, tag)
    question = Question(vid, t, tag, float("nan") if score is None else score, reason, 0.0)
    return Asked(question, row["file_name"], thumbs.get((vid, t)))


def questions_page(server: ReviewServer, query: dict[str, str]) -> bytes:
    """One question at a time (the undone one again after an undo), then progress."""
    with data.open_catalogue(server.layout) as con:
        last = data.verdict(con, query.get("last"))
        again = data.verdict(con, query.get("again"))
    with server.lock:
        session = server.fresh_session()
        if again is not None and again["scope"] == "frame" and again["verdict"] != "undo":
            current: Asked | None = _asked_again(session, again)
        else:
            current = next(iter(session.questions(QUESTION_BATCH)), None)
        progress = session.progress()
    last_id = last["verdict_id"] if last and last["verdict"] != "undo" else None

    parts = []
    if last_id and last["verdict"] == "skip":
        parts.append(
            f'<p class="notice" id="recorded">Skipped {esc(last["tag"])} at '
            f"{clock(last['start'])} of {esc(last['file_name'])}: it is asked again when "
            "the model's score there moves.</p>"
        )
    elif last_id:
        parts.append(
            f'<p class="notice" id="recorded">Recorded <b>{esc(last["verdict"])}</b> '
            f"for {esc(last['tag'])} at {clock(last['start'])} of "
            f"{esc(last['file_name'])}.</p>"
        )
    elif again is not None:
        parts.append('<p class="notice" id="recorded">Undone. Answer it again, or skip.</p>')
    undo = (
        f'<form method="post" action="/api/undo">{hidden(verdict_id=last_id)}'
        f'<button type="submit" data-key="z" id="undo"{"" if last_id else " disabled"}>'
        f"Undo <kbd>z</kbd></button></form>"
    )
    if current is None:
        parts.append(
            f'<div class="card" id="question" data-empty="1"><h1>No questions '
            f"waiting</h1><p>Every uncertain frame has an answer (a skipped one comes back "
            f"when the model's score there moves).</p>"
            f'<div class="buttons">{undo}</div></div>'
        )
    else:
        parts.append(question_html(current, question_frame(server, current), undo))
    parts.append(progress_html(progress))
    parts.append('<p><a href="/verdicts" id="answers-link">The answers given so far</a></p>')
    return page(
        "Questions", "".join(parts), token=server.csrf_token, scripts=("keys.js", "fallback.js")
    )


def question_frame(server: ReviewServer, current: Asked) -> str:
    """The question's frame at full size with a clip around it, both cut from the archive
    file when the browser asks (/frame/…, /clip/…); the stored thumbnail when the
    archive file is missing or unreadable."""
    q = current.question
    alt = f"frame at {clock(q.t)} of {current.file_name}"
    thumb = file_href(current.thumbnail) if current.thumbnail else None
    try:
        with data.open_catalogue(server.layout) as con:
            question_media.archive_file(con, q.video_id)
    except question_media.MediaError as exc:
        shown = f'<img id="frame" src="{esc(thumb)}" alt="{esc(alt)}">' if thumb else ""
        return f'{shown}<p class="muted" id="no-archive">{esc(exc)}: the stored thumbnail.</p>'
    where = f"{quote(q.video_id, safe='')}/{q.t:.3f}"
    clip = f"/clip/{where}.{question_media.clip_format()}"
    return (
        f'<img id="frame" src="/frame/{esc(where)}.jpg" alt="{esc(alt)}"'
        + (f' data-fallback="{esc(thumb)}"' if thumb else "")
        + f'><video id="clip" src="{esc(clip)}" controls muted loop playsinline '
        f'preload="metadata" title="{question_media.CLIP_SECONDS:g} s around it"></video>'
    )


def question_html(current: Asked, picture: str, undo: str) -> str:
    """ "Is this X?" with the frame, why it is asked, and the answer / skip / undo buttons."""
    q = current.question
    source = "audit" if q.reason == "audit" else "question"
    where = (
        f'<a href="{esc(video_href(q.video_id))}">{esc(current.file_name)}</a> at '
        f"<b>{clock(q.t)}</b>"
    )
    score = f" · model score {q.score:.2f}" if math.isfinite(q.score) else ""
    why = REASONS.get(q.reason, "you undid your answer: answer it again")
    key = hidden(video_id=q.video_id, t=repr(q.t), tag=q.tag, source=source)
    return f"""
<div class="question" id="question" data-video-id="{esc(q.video_id)}" data-t="{q.t!r}"
 data-tag="{esc(q.tag)}" data-reason="{esc(q.reason)}">
<div class="media">{picture}</div>
<div>
<h1>Is this <u>{esc(q.tag)}</u>?</h1>
<p>{where}{score}</p>
<p><span class="badge reason">{esc(q.reason)}</span> <span class="muted">{esc(why)}</span></p>
<div class="buttons">
<form method="post" action="/api/answer">{key}
<button class="yes" name="verdict" value="yes" data-key="y" id="yes">Yes <kbd>y</kbd></button>
<button class="no" name="verdict" value="no" data-key="n" id="no">No <kbd>n</kbd></button>
<button name="verdict" value="unsure" data-key="u" id="unsure">Not sure <kbd>u</kbd></button>
</form>
<form method="post" action="/api/skip">{key}
<button data-key="s" id="skip">Skip <kbd>s</kbd></button></form>
{undo}
</div></div></div>"""


def progress_html(progress: dict) -> str:
    """Answers in force so far, and per tag the precision the audit answers estimate."""
    rows = []
    for tag, d in sorted(progress["per_tag"].items(), key=lambda kv: (-kv[1]["answered"], kv[0])):
        judged = d["audit_yes"] + d["audit_no"]
        precision = (
            f"{d['precision']:.0%} <span class='muted'>({d['audit_yes']} of {judged} "
            f"audited)</span>"
            if d["precision"] is not None
            else '<span class="muted">no audit answers yet</span>'
        )
        rows.append(
            f"<tr><td>{esc(tag)}</td><td class='num'>{d['answered']}</td><td>{precision}</td></tr>"
        )
    table = (
        (
            "<table><thead><tr><th>Tag</th><th>Answered</th><th>Estimated precision</th>"
            "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        )
        if rows
        else ""
    )
    return (
        f'<h2>Progress</h2><p id="progress" data-answered="{progress["answered"]}">'
        f"{progress['answered']} answered so far.</p>{table}"
    )


# ----------------------------------------------------------------------------- answers


def verdicts_page(server: ReviewServer, query: dict[str, str]) -> bytes:
    """The answers given, newest first, filtered by the query, each in force with its
    Undo; and what the last learning step changed. It reads the verdict log, not the
    tags' scores, so a re-score changes nothing here."""
    filters = page_filters(query)
    with data.open_catalogue(server.layout) as con:
        rows, matching = verdict_list.listed(con, filters)
    back = "/verdicts" + (f"?{urlencode(query)}" if query else "")
    more = (
        f'<p class="muted">The newest {len(rows)} of {matching} shown: raise the limit '
        "for more.</p>"
        if matching > len(rows)
        else ""
    )
    what = "rows of the log" if filters.everything else "answers"
    body = (
        f'<h1>Answers</h1><p id="matching" data-matching="{matching}">{matching} {what} '
        "match. An Undo takes one back (a newer undo row; the log keeps both).</p>"
        + filters_form(query)
        + answers_table(rows, back=back)
        + more
        + learning_html(data.learning_changes(server.layout))
    )
    return page("Answers", body, token=server.csrf_token)


def page_filters(query: dict[str, str]) -> Filters:
    """The answers page's query parameters as list filters (HttpError 400 when bad)."""
    try:
        since = verdict_list.parse_since(query["since"]) if query.get("since") else None
    except VerdictError as exc:
        raise HttpError(400, f"since: {exc}") from None
    limit = query.get("limit") or str(VERDICTS_SHOWN)
    if not limit.isdigit() or not 1 <= int(limit) <= 10_000:
        raise HttpError(400, f"limit must be a whole number from 1 to 10000, not {limit!r}")
    return Filters(
        tag=query.get("tag") or None,
        video=query.get("video") or None,
        reviewer=query.get("reviewer") or None,
        since=since,
        limit=int(limit),
        everything=query.get("all") in ("1", "on", "true"),
    )


def filters_form(query: dict[str, str]) -> str:
    """The answers page's filters as a GET form, filled in with the current ones."""
    fields = "".join(
        f'<label>{label} <input name="{name}" value="{esc(query.get(name, ""))}"'
        f' placeholder="{esc(hint)}"></label>'
        for name, label, hint in (
            ("tag", "Tag", "any"),
            ("video", "Video", "file name or id"),
            ("reviewer", "Reviewer", "anyone"),
            ("since", "Since", "2026-12-01T14:30"),
            ("limit", "Limit", str(VERDICTS_SHOWN)),
        )
    )
    checked = " checked" if query.get("all") in ("1", "on", "true") else ""
    return (
        f'<form method="get" action="/verdicts" class="filters card">{fields}'
        f'<label><input type="checkbox" name="all" value="1"{checked}> skips and undos too'
        f'</label><button class="small">Show</button></form>'
    )


def answers_table(rows: list[dict], *, back: str, video: bool = True) -> str:
    """Log rows as a table (reelcat.feedback.verdict_list.cells), with an Undo button on
    each answer in force and each skip; the Undo comes back to `back`."""
    if not rows:
        return '<p class="muted">No answers.</p>'
    names = [n for n in verdict_list.cells(rows[0]) if video or n != "video"]
    head = "".join(f"<th>{esc(n)}</th>" for n in names)
    body = []
    for r in rows:
        c = verdict_list.cells(r)
        tds = "".join(
            f'<td><a href="{esc(video_href(r["video_id"]))}">{esc(c[n])}</a></td>'
            if n == "video"
            else f"<td>{esc(c[n])}</td>"
            for n in names
        )
        button = (
            f'<form method="post" action="/api/undo" class="inline">'
            f"{hidden(verdict_id=r['verdict_id'], back=back)}"
            f'<button class="small" data-undo="{esc(r["verdict_id"])}">Undo</button></form>'
            if r["status"] in verdict_list.UNDOABLE
            else ""
        )
        body.append(
            f'<tr data-verdict-id="{esc(r["verdict_id"])}" data-status="{esc(r["status"])}">'
            f"{tds}<td>{button}</td></tr>"
        )
    return (
        f'<table class="answers"><thead><tr>{head}<th></th></tr></thead><tbody>'
        + "".join(body)
        + "</tbody></table>"
    )


def learning_html(changes: list[dict]) -> str:
    """Per answered tag, what the last learning step changed and why (its own words)."""
    if not changes:
        return (
            '<h2 id="learning">What the last learning step changed</h2><p class="muted">'
            "Nothing yet: the catalogue learns from the answers on its next run.</p>"
        )
    rows = "".join(
        f'<tr data-tag="{esc(c["tag"])}"><td>{esc(c["tag"])}</td>'
        f'<td class="num">{threshold_change(c)}</td>'
        f'<td class="num">{c["frames_changed"]} of {c["sampled_frames"]}</td>'
        f'<td class="num">{c["videos_changed"]}</td>'
        f'<td class="num">{c["answers"]} ({c["videos_answered"]} videos)</td>'
        f"<td>{esc(c['decision'] or '')}</td></tr>"
        for c in changes
    )
    return (
        '<h2 id="learning">What the last learning step changed</h2>'
        '<table class="learning"><thead><tr><th>Tag</th><th>Threshold</th>'
        "<th>Frames changed</th><th>Videos changed</th><th>Answers</th>"
        f"<th>Why</th></tr></thead><tbody>{rows}</tbody></table>"
    )


# ----------------------------------------------------------------------------- errors


def error_page(status: int, message: str) -> bytes:
    return page(
        f"{status}",
        f"<h1>{status} {esc(HTTPStatus(status).phrase)}</h1>"
        f'<p id="error">{esc(message)}</p><p><a href="/">Back to the '
        f"archive</a></p>",
    )
