"""The review pages as HTML: the archive, one video, the questions, an error.

Each page function reads what it shows (the catalogue through reelcat.web.data, the
review session under the server's lock) and returns the whole document as bytes. Pages
link /static/style.css and, for the keys, /static/keys.js: nothing inline, so the
server's Content-Security-Policy can refuse inline styles and scripts.
"""

from __future__ import annotations

import html
import math
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import numpy as np

from reelcat.feedback.questions import Question
from reelcat.feedback.review_session import Asked, ReviewSession
from reelcat.storage.layout import Layout
from reelcat.web import data
from reelcat.web.errors import HttpError

if TYPE_CHECKING:
    from reelcat.web.app import ReviewServer

QUESTION_BATCH = 20  # questions computed per page view; the first not skipped is shown
QUEUE_LIMIT = 500  # videos listed on the archive page
REASONS = {
    "uncertain": "the model is unsure: the score sits between the review and accept thresholds",
    "flicker": "the tag flickers on and off between neighbouring frames",
    "audit": "a random check of a frame the model accepted (keeps precision estimates honest)",
}


# ----------------------------------------------------------------------------- helpers


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def clock(t: float | None) -> str:
    """Seconds as m:ss (h:mm:ss past an hour), tenths when not whole."""
    if t is None or not math.isfinite(t):
        return "?"
    whole = abs(t - round(t)) < 0.05
    secs = f"{t % 60:02.0f}" if whole else f"{t % 60:04.1f}"
    minutes, hours = int(t // 60) % 60, int(t // 3600)
    return f"{hours}:{minutes:02d}:{secs}" if hours else f"{minutes}:{secs}"


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


def page(title: str, body: str, *, keys: bool = False) -> bytes:
    """The whole document; `keys` loads the keyboard shortcuts."""
    script = '<script src="/static/keys.js"></script>' if keys else ""
    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} · reelcat</title><link rel="stylesheet" href="/static/style.css"></head>
<body><header><strong>reelcat review</strong><a href="/">Archive</a>
<a href="/questions">Questions</a></header>
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
<a href="/questions">Answer questions</a> about uncertain frames ({answered} answered so far).</p>
<div class="card">{picture(layout, layout.heatmap, "heat map of sensitive content")}</div>
<h2>Review first ({len(to_review)})</h2>{queue_table(to_review)}
<h2>Cleared ({len(cleared)})</h2>{queue_table(cleared)}{more}
<h2>What the archive holds</h2>
<div class="card">{picture(layout, layout.tag_frequencies_chart, "tag frequencies")}</div>
"""
    return page("Archive", body)


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
        body.append(
            f'<tr><td><a href="{esc(video_href(r["video_id"]))}">{esc(r["file_name"])}</a>'
            f'<div class="muted">{esc(r["evidence"] or "")}</div></td>'
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
    return page(name, "".join(parts))


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


def _score_at(session: ReviewSession, video_id: str, t: float, tag: str) -> float:
    for v in session.videos:
        if v.video_id == video_id and tag in v.scores and len(v.times):
            return float(v.scores[tag][int(np.argmin(np.abs(v.times - t)))])
    return float("nan")


def _asked_again(session: ReviewSession, row: dict) -> Asked:
    """The question whose answer was just undone, asked again."""
    vid, t, tag = row["video_id"], row["start"], row["tag"]
    thumbs = session.thumbnails({vid: [t]})
    reason = "audit" if row["source"] == "audit" else "again"
    question = Question(vid, t, tag, _score_at(session, vid, t, tag), reason, 0.0)
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
            asked = session.questions(QUESTION_BATCH + len(server.skipped))
            current = next(
                (
                    a
                    for a in asked
                    if not server.was_skipped(a.question.video_id, a.question.t, a.question.tag)
                ),
                None,
            )
        progress = session.progress()
        skipped = len(server.skipped)
    last_id = last["verdict_id"] if last and last["verdict"] != "undo" else None

    parts = []
    if last_id:
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
        note = (
            f" You skipped {skipped}: they come back when the server restarts." if skipped else ""
        )
        parts.append(
            f'<div class="card" id="question" data-empty="1"><h1>No questions '
            f"waiting</h1><p>Every uncertain frame has an answer.{note}</p>"
            f'<div class="buttons">{undo}</div></div>'
        )
    else:
        parts.append(question_html(current, last_id, undo))
    parts.append(progress_html(progress))
    return page("Questions", "".join(parts), keys=True)


def question_html(current: Asked, last_id: str | None, undo: str) -> str:
    """ "Is this X?" with the frame, why it is asked, and the answer / skip / undo buttons."""
    q = current.question
    source = "audit" if q.reason == "audit" else "question"
    where = (
        f'<a href="{esc(video_href(q.video_id))}">{esc(current.file_name)}</a> at '
        f"<b>{clock(q.t)}</b>"
    )
    score = f" · model score {q.score:.2f}" if math.isfinite(q.score) else ""
    why = REASONS.get(q.reason, "you undid your answer: answer it again")
    img = (
        f'<img src="{esc(file_href(current.thumbnail))}" alt="frame at {clock(q.t)} of '
        f'{esc(current.file_name)}">'
        if current.thumbnail
        else '<p class="muted">(no thumbnail stored for this frame)</p>'
    )
    key = hidden(video_id=q.video_id, t=repr(q.t), tag=q.tag)
    return f"""
<div class="question" id="question" data-video-id="{esc(q.video_id)}" data-t="{q.t!r}"
 data-tag="{esc(q.tag)}" data-reason="{esc(q.reason)}">
<div>{img}</div>
<div>
<h1>Is this <u>{esc(q.tag)}</u>?</h1>
<p>{where}{score}</p>
<p><span class="badge reason">{esc(q.reason)}</span> <span class="muted">{esc(why)}</span></p>
<div class="buttons">
<form method="post" action="/api/answer">{key}{hidden(source=source)}
<button class="yes" name="verdict" value="yes" data-key="y" id="yes">Yes <kbd>y</kbd></button>
<button class="no" name="verdict" value="no" data-key="n" id="no">No <kbd>n</kbd></button>
<button name="verdict" value="unsure" data-key="u" id="unsure">Not sure <kbd>u</kbd></button>
</form>
<form method="post" action="/api/skip">{key}{hidden(last=last_id)}
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


# ----------------------------------------------------------------------------- errors


def error_page(status: int, message: str) -> bytes:
    return page(
        f"{status}",
        f"<h1>{status} {esc(HTTPStatus(status).phrase)}</h1>"
        f'<p id="error">{esc(message)}</p><p><a href="/">Back to the '
        f"archive</a></p>",
    )
