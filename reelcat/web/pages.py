"""The review pages as HTML: the archive, one video, the questions, the answers given
(with what the last learning step changed), an error.

Each page function reads what it shows (the catalogue through reelcat.web.data, the
review session under the server's lock) and returns the whole document as bytes. Pages
link /static/style.css and, for the keys, /static/keys.js: nothing inline, so the
server's Content-Security-Policy can refuse inline styles and scripts. Every POST form of
a page carries the server's CSRF token (a hidden `csrf` field, added by `page`), and the
page's <meta name="reelcat-token"> gives it to scripts.
"""

from __future__ import annotations

import html
import math
import re
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from reelcat.feedback import question_media, verdict_list
from reelcat.feedback.questions import Question
from reelcat.feedback.review_session import Asked, ReviewSession
from reelcat.feedback.verdict_list import Filters, clock
from reelcat.feedback.verdicts import VerdictError
from reelcat.storage.layout import Layout
from reelcat.web import data
from reelcat.web.errors import HttpError

if TYPE_CHECKING:
    from reelcat.web.app import ReviewServer

QUESTION_BATCH = 20  # questions computed per page view; the first is shown
VERDICTS_SHOWN = 50  # answers the answers page lists unless ?limit= says otherwise
QUEUE_LIMIT = 500  # videos listed on the archive page
POST_FORM = re.compile(r'<form method="post"[^>]*>')
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


def page(title: str, body: str, *, token: str | None = None, keys: bool = False) -> bytes:
    """The whole document; `token` (the server's CSRF token) goes into each POST form and
    a <meta>; `keys` loads the keyboard shortcuts."""
    script = '<script src="/static/keys.js"></script>' if keys else ""
    meta = ""
    if token is not None:
        body = POST_FORM.sub(lambda m: m[0] + hidden(csrf=token), body)
        meta = f'<meta name="reelcat-token" content="{esc(token)}">\n'
    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{meta}<title>{esc(title)} · reelcat</title><link rel="stylesheet" href="/static/style.css"></head>
<body><header><strong>reelcat review</strong><a href="/">Archive</a>
<a href="/questions">Questions</a><a href="/verdicts">Answers</a></header>
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


def timeline_svg(segments: list[dict], duration: float) -> str:
    """A strip with one bar per time range where a tag holds, darker where it scores higher."""
    rects = []
    for s in segments:
        x = 100 * s["start"] / duration
        w = max(100 * (s["end"] - s["start"]) / duration, 0.6)
        alpha = min(1.0, max(0.35, s["mean_score"]))
        rects.append(
            f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="10" fill="#3465a4" '
            f'fill-opacity="{alpha:.2f}"><title>{clock(s["start"])}–{clock(s["end"])}, '
            f"mean score {s['mean_score']:.2f}, peak {s['peak_score']:.2f} at "
            f"{clock(s['peak_t'])}</title></rect>"
        )
    return (
        '<svg viewBox="0 0 100 10" preserveAspectRatio="none" role="img">'
        '<rect x="0" y="0" width="100" height="10" fill="#e9ecef"/>' + "".join(rects) + "</svg>"
    )


# ----------------------------------------------------------------------------- archive


def archive_page(server: ReviewServer) -> bytes:
    """The heat map, the queue (to review first, then cleared) and the tag chart."""
    layout = server.layout
    with data.open_catalogue(layout) as con:
        rows = data.queue(con, QUEUE_LIMIT)
        counts = data.decisions(con)
    with server.lock:
        answered = server.fresh_session().progress()["answered"]
    to_review = [r for r in rows if r["decision"] == "review"]
    cleared = [r for r in rows if r["decision"] != "review"]
    total = sum(counts.values())
    more = (
        f'<p class="muted">Showing the first {len(rows)} of {total} videos.</p>'
        if total > len(rows)
        else ""
    )
    body = f"""
<h1>The archive</h1>
<p>{counts.get("review", 0)} of {total} videos need review.
<a href="/questions">Answer questions</a> about uncertain frames ({answered} answered so far;
<a href="/verdicts" id="answers-link">see and undo the answers</a>).</p>
{learning_brief(data.learning_changes(layout))}
<div class="card">{picture(layout, layout.heatmap, "heat map of sensitive content")}</div>
<h2>Review first ({len(to_review)})</h2>{queue_table(to_review)}
<h2>Cleared ({len(cleared)})</h2>{queue_table(cleared)}{more}
<h2>What the archive holds</h2>
<div class="card">{picture(layout, layout.tag_frequencies_chart, "tag frequencies")}</div>
"""
    return page("Archive", body, token=server.csrf_token)


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
    """Rows of the review queue: name and evidence, decision, risk, flagged ranges, length."""
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
        body.append(
            f'<tr><td><a href="{esc(video_href(r["video_id"]))}">{esc(r["file_name"])}</a>'
            f'{damage}<div class="muted">{esc(r["evidence"] or "")}</div></td>'
            f'<td><span class="badge {esc(r["decision"])}">{esc(r["decision"])}</span></td>'
            f'<td class="num">{r["risk"]:.2f}</td><td>{ranges or "–"}</td>'
            f'<td class="num">{clock(r["duration"])}</td></tr>'
        )
    return (
        '<table class="queue"><colgroup><col class="video"><col class="decision">'
        '<col class="risk"><col><col class="length"></colgroup>'
        "<thead><tr><th>Video</th><th>Decision</th><th>Risk</th>"
        "<th>Flagged time ranges</th><th>Length</th></tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )


# ----------------------------------------------------------------------------- video


def video_page(server: ReviewServer, video_id: str, query: dict[str, str]) -> bytes:
    """Summary, severity strip, flagged moments, word cloud, tag chart, timelines with a
    "that's wrong" button per tag."""
    layout = server.layout
    with data.open_catalogue(layout) as con:
        info = data.video(con, video_id)
        if info is None:
            raise HttpError(404, f"no video {video_id!r} in the catalogue")
        summary = data.summary(con, video_id) or {}
        risk = data.risk(con, video_id)
        segments = data.tag_segments(con, video_id)
        flagged = data.flagged(con, video_id)
        marked = data.marked_wrong(con, video_id)
        last = data.verdict(con, query.get("last"))
        answers, answered = verdict_list.listed(con, Filters(video=video_id, limit=VERDICTS_SHOWN))
    name = info["file_name"]
    duration = info["duration"] or 0.0
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
    parts.append(
        '<h2>Sensitive content over time</h2><div class="card">'
        + video_img(video_id, "severity", "severity strip")
        + "</div>"
    )
    if risk and risk.get("evidence"):
        parts.append(f'<p class="muted">{esc(risk["evidence"])}</p>')
    if flagged:
        figs = "".join(
            f"<figure>{thumbnail_img(s['thumbnail'], 'peak frame')}<figcaption>"
            f"<b>{esc(s['concept'])}</b> {clock(s['start'])}–{clock(s['end'])}"
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
    if wrong_tags and duration > 0:
        lines = []
        for tag in wrong_tags:
            share = f"{coverage[tag]:.0%} of the time" if tag in coverage else "flagged"
            lines.append(
                f'<div><b>{esc(tag)}</b><div class="muted">{share}</div></div>'
                f"{timeline_svg(segments.get(tag, []), duration)}"
                f"<div>{wrong_button(video_id, tag, marked.get(tag))}</div>"
            )
        parts.append(
            '<h2>Timelines</h2><div class="card timeline">'
            + "".join(lines)
            + f'<div></div><div class="muted axis"><span>0:00</span><span>{clock(duration)}'
            "</span></div><div></div></div>"
        )
    parts.append(video_answers_html(video_id, answers, answered))
    return page(name, "".join(parts), token=server.csrf_token)


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
    return page("Questions", "".join(parts), token=server.csrf_token, keys=True)


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
