"""The review web page (`reelcat serve`): the archive's heat map and risk queue, a page per
video, and "Is this X?" questions one at a time, on the standard library's HTTP server.

It reads what the pipeline wrote under the output folder (DuckDB in memory over the
Parquet files, see reelcat/storage/parquet.py) and records answers through `ReviewSession`, so the
page, the terminal review and the benchmark's simulated reviewer ask and record the same
way. It binds 127.0.0.1 by default: a reviewer's local tool, with no login.

    GET  /                      heat map, review queue (riskiest first), cleared videos
    GET  /video/<video_id>      summary, severity strip, word cloud, tag chart, timelines,
                                flagged peak frames, "that's wrong" buttons
    GET  /questions             one question at a time; keys y / n / u / s / z
    GET  /files/<path>          PNG or JPEG from inside the output folder, nothing else
    POST /api/answer            {video_id, t, tag, verdict: yes|no|unsure, source,
                                 scope: frame (default) | video}
    POST /api/undo              {verdict_id}
    POST /api/skip              {video_id, t, tag}

POST bodies are JSON (the reply is JSON) or an HTML form (the reply is a 303 back to the
page), so the pages work with or without JavaScript. A request that fails validation is
a 4xx with the reason and writes nothing.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import math
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import duckdb
import numpy as np

from reelcat.config import Config, ConfigError, load_config
from reelcat.feedback.questions import Question
from reelcat.feedback.review_session import Asked, ReviewSession
from reelcat.storage.parquet import export_thumbnails
from reelcat.feedback.verdicts import ANSWERS, VerdictError, effective

LOG = logging.getLogger("reelcat.web.app")

QUESTION_BATCH = 20  # questions computed per page view; the first not skipped is shown
QUEUE_LIMIT = 500  # videos listed on the archive page
MAX_BODY = 64 * 1024
SOURCES = ("question", "audit", "button")
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
VERDICT_ID = re.compile(r"^[0-9a-f]{32}$")
REASONS = {
    "uncertain": "the model is unsure: the score sits between the review and accept "
                 "thresholds",
    "flicker": "the tag flickers on and off between neighbouring frames",
    "audit": "a random check of a frame the model accepted (keeps precision estimates "
             "honest)",
}


class HttpError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


# ----------------------------------------------------------------------------- reading


def _rows(sql: str, params: dict | None = None) -> list[dict]:
    """Rows as dicts from a private in-memory DuckDB (request threads never share one)."""
    con = duckdb.connect()
    try:
        cur = con.execute(sql, params or {})
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


class Catalogue:
    """Read-only views of the pipeline's Parquet files; a missing file reads as empty."""

    def __init__(self, out: Path):
        self.out = out

    def _file(self, rel: str) -> str | None:
        path = self.out / rel
        return str(path) if path.exists() else None

    def videos(self, ids: list[str] | None = None) -> dict[str, dict]:
        manifest = self._file("manifest.parquet")
        if manifest is None:
            return {}
        rows = _rows(
            "SELECT video_id, min(regexp_extract(path, '[^/]+$')) AS file_name, "
            "max(duration) AS duration, bool_or(status = 'ok') AS ok, "
            "min(error) AS error FROM read_parquet($m) "
            "WHERE $ids IS NULL OR list_contains($ids, video_id) GROUP BY video_id",
            {"m": manifest, "ids": ids})
        return {r["video_id"]: r for r in rows}

    def queue(self) -> tuple[list[dict], dict[str, int]]:
        """Videos by risk (to review first), each with its flagged time ranges."""
        risk = self._file("moderation/video_risk.parquet")
        if risk is None:
            return [], {}
        counts = {r["decision"]: r["n"] for r in _rows(
            "SELECT decision, count(*) AS n FROM read_parquet($r) GROUP BY 1", {"r": risk})}
        rows = _rows(
            "SELECT * FROM read_parquet($r) "
            "ORDER BY decision != 'review', risk DESC, video_id LIMIT $limit",
            {"r": risk, "limit": QUEUE_LIMIT})
        ids = [r["video_id"] for r in rows]
        names = self.videos(ids)
        ranges: dict[str, list[dict]] = {}
        for s in self.flagged(ids):
            ranges.setdefault(s["video_id"], []).append(s)
        for r in rows:
            info = names.get(r["video_id"], {})
            r["file_name"] = info.get("file_name") or r["video_id"]
            r["duration"] = info.get("duration")
            r["ranges"] = ranges.get(r["video_id"], [])
        return rows, counts

    def flagged(self, ids: list[str]) -> list[dict]:
        seg = self._file("moderation/segments.parquet")
        if seg is None or not ids:
            return []
        return _rows('SELECT * FROM read_parquet($s) WHERE list_contains($ids, video_id) '
                     'ORDER BY video_id, start, concept', {"s": seg, "ids": ids})

    def summary(self, video_id: str) -> dict | None:
        path = self._file("summaries/video_summaries.parquet")
        if path is None:
            return None
        rows = _rows("SELECT * FROM read_parquet($p) WHERE video_id = $v",
                     {"p": path, "v": video_id})
        return rows[0] if rows else None

    def risk(self, video_id: str) -> dict | None:
        path = self._file("moderation/video_risk.parquet")
        if path is None:
            return None
        rows = _rows("SELECT * FROM read_parquet($p) WHERE video_id = $v",
                     {"p": path, "v": video_id})
        return rows[0] if rows else None

    def segments(self, video_id: str) -> dict[str, list[dict]]:
        path = self._file("summaries/segments.parquet")
        if path is None:
            return {}
        out: dict[str, list[dict]] = {}
        for r in _rows('SELECT * FROM read_parquet($p) WHERE video_id = $v ORDER BY tag, start',
                       {"p": path, "v": video_id}):
            out.setdefault(r["tag"], []).append(r)
        return out


# ----------------------------------------------------------------------------- server


class ReviewServer(ThreadingHTTPServer):
    """The HTTP server plus the one review session its request threads share."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], cfg: Config, reviewer: str):
        self.cfg = cfg
        self.out = Path(cfg.output_dir).resolve()
        if not (self.out / "summaries" / "video_summaries.parquet").exists():
            raise FileNotFoundError(
                f"no catalogue at {self.out}: run `reelcat run` for this output folder first")
        self.catalogue = Catalogue(self.out)
        # ReviewSession and the verdict log use DuckDB's default connection: one at a time.
        self.lock = threading.Lock()
        self.session = ReviewSession(cfg, reviewer)
        self._signature = self._files_signature()
        self.skipped: set[tuple[str, float, str]] = set()
        super().__init__(address, ReviewHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def _files_signature(self) -> tuple:
        files = ("summaries/thresholds.parquet", "summaries/video_summaries.parquet",
                 "feedback/thresholds.parquet")
        return tuple((self.out / f).stat().st_mtime_ns if (self.out / f).exists() else 0
                     for f in files)

    def fresh_session(self) -> ReviewSession:
        """The session, re-read when the pipeline has re-run since (call under the lock)."""
        signature = self._files_signature()
        if signature != self._signature:
            self.session.reload()
            self._signature = signature
        return self.session

    def durations(self) -> dict[str, float]:
        return {v.video_id: v.duration for v in self.session.videos}


def make_server(cfg: Config, host: str = "127.0.0.1", port: int = 0,
                reviewer: str = "web") -> ThreadingHTTPServer:
    """A bound, not yet serving, review server (port 0 picks a free port; see `.url`)."""
    return ReviewServer((host, port), cfg, reviewer)


def serve(cfg: Config, host: str = "127.0.0.1", port: int = 8000,
          reviewer: str = "web") -> None:
    """Serve the review page until interrupted."""
    server = make_server(cfg, host, port, reviewer)
    print(f"reelcat: review page at {server.url}/  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# ----------------------------------------------------------------------------- HTML

CSS = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#212529;
 margin:0;background:#f8f9fa}
header{background:#212529;color:#fff;padding:.6rem 1.5rem;display:flex;gap:1.5rem;
 align-items:baseline}
header a{color:#dee2e6;text-decoration:none}header a:hover{color:#fff}
header strong{font-size:1.1rem;margin-right:auto}
main{max-width:1040px;margin:0 auto;padding:1rem 1.5rem 3rem}
h1{font-size:1.5rem;margin:.8rem 0 .3rem}h2{font-size:1.15rem;margin:1.6rem 0 .5rem}
a{color:#3465a4}
.muted{color:#6c757d}
.card{background:#fff;border:1px solid #dee2e6;border-radius:6px;padding:1rem;
 margin:.8rem 0}
img.pic{max-width:100%;height:auto;display:block}
table{border-collapse:collapse;width:100%;background:#fff}
table.queue{table-layout:fixed}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #e9ecef;
 vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;letter-spacing:.03em;color:#6c757d}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:999px;font-size:.78rem;
 font-weight:600}
.review{background:#f8d7da;color:#842029}.clear{background:#d1e7dd;color:#0f5132}
.reason{background:#e7f1ff;color:#084298}
.range{display:inline-block;margin:0 .4rem .2rem 0;padding:0 .35rem;border-radius:3px;
 background:#fff3cd;font-size:.85rem}
.notice{background:#d1e7dd;border:1px solid #a3cfbb;border-radius:6px;padding:.5rem .8rem;
 margin:.8rem 0}
.notice form{display:inline;margin-left:1rem}
.grid{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}
.grid>.card{flex:1 1 320px;margin:0}
.thumbs figure{margin:0;background:#fff;border:1px solid #dee2e6;border-radius:6px;
 padding:.4rem;font-size:.85rem}
.thumbs img{display:block;width:200px;height:auto}
.timeline{display:grid;grid-template-columns:9rem 1fr 8rem;gap:.3rem .8rem;
 align-items:center}
.timeline svg{width:100%;height:18px;display:block}
.question{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}
.question>div:last-child{flex:1 1 360px}
.question img{width:480px;max-width:100%;height:auto;border-radius:6px;
 background:#000;display:block}
.question h1{font-size:2rem}
.buttons{display:flex;flex-wrap:wrap;gap:.5rem;margin:1rem 0}
.buttons form{display:contents}
button{font:inherit;padding:.5rem 1rem;border-radius:6px;border:1px solid #adb5bd;
 background:#fff;cursor:pointer}
button:hover{background:#e9ecef}button:disabled{opacity:.45;cursor:default}
button.yes{background:#198754;border-color:#198754;color:#fff}
button.no{background:#dc3545;border-color:#dc3545;color:#fff}
button.small{padding:.15rem .6rem;font-size:.85rem}
kbd{font:12px ui-monospace,monospace;border:1px solid #ced4da;border-radius:3px;
 padding:0 .3rem;margin-left:.3rem;background:#f8f9fa;color:#212529}
"""

KEYS_JS = """
let sent = false;
for (const f of document.querySelectorAll('form')) {
  f.addEventListener('submit', e => { if (sent) e.preventDefault(); sent = true; });
}
document.addEventListener('keydown', e => {
  if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
  const b = document.querySelector('button[data-key="' + e.key.toLowerCase() + '"]');
  if (b && !b.disabled) { e.preventDefault(); b.click(); }
});
"""


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
    return "/files/" + quote(rel)


def hidden(**fields: object) -> str:
    return "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">'
                   for k, v in fields.items() if v is not None)


def page(title: str, body: str, *, script: str = "") -> bytes:
    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} · reelcat</title><style>{CSS}</style></head>
<body><header><strong>reelcat review</strong><a href="/">Archive</a>
<a href="/questions">Questions</a></header>
<main>{body}</main>{f"<script>{script}</script>" if script else ""}</body></html>"""
    return doc.encode("utf-8")


def picture(server: ReviewServer, rel: str, alt: str) -> str:
    if not (server.out / rel).is_file():
        return f'<p class="muted">({esc(alt)}: not drawn yet)</p>'
    return f'<img class="pic" src="{esc(file_href(rel))}" alt="{esc(alt)}">'


def archive_page(server: ReviewServer) -> bytes:
    rows, counts = server.catalogue.queue()
    with server.lock:
        answered = server.fresh_session().progress()["answered"]
    to_review = [r for r in rows if r["decision"] == "review"]
    cleared = [r for r in rows if r["decision"] != "review"]

    def table(items: list[dict]) -> str:
        if not items:
            return '<p class="muted">None.</p>'
        body = []
        for r in items:
            ranges = "".join(
                f'<span class="range" title="peak {s["peak"]:.2f} at {clock(s["peak_t"])}">'
                f'{esc(s["concept"])} {clock(s["start"])}–{clock(s["end"])}</span>'
                for s in r["ranges"])
            body.append(
                f'<tr><td><a href="{esc(video_href(r["video_id"]))}">{esc(r["file_name"])}</a>'
                f'<div class="muted">{esc(r["evidence"] or "")}</div></td>'
                f'<td><span class="badge {esc(r["decision"])}">{esc(r["decision"])}</span></td>'
                f'<td class="num">{r["risk"]:.2f}</td><td>{ranges or "–"}</td>'
                f'<td class="num">{clock(r["duration"])}</td></tr>')
        return ('<table class="queue"><colgroup><col style="width:38%"><col style="width:11%">'
                '<col style="width:8%"><col><col style="width:9%"></colgroup>'
                "<thead><tr><th>Video</th><th>Decision</th><th>Risk</th>"
                "<th>Flagged time ranges</th><th>Length</th></tr></thead><tbody>"
                + "".join(body) + "</tbody></table>")

    total = sum(counts.values())
    more = (f'<p class="muted">Showing the first {len(rows)} of {total} videos.</p>'
            if total > len(rows) else "")
    body = f"""
<h1>The archive</h1>
<p>{counts.get("review", 0)} of {total} videos need review.
<a href="/questions">Answer questions</a> about uncertain frames ({answered} answered so far).</p>
<div class="card">{picture(server, "pictures/heatmap.png", "heat map of sensitive content")}</div>
<h2>Review first ({len(to_review)})</h2>{table(to_review)}
<h2>Cleared ({len(cleared)})</h2>{table(cleared)}{more}
<h2>What the archive holds</h2>
<div class="card">{picture(server, "pictures/tag_frequencies.png", "tag frequencies")}</div>
"""
    return page("Archive", body)


def thumbnail_img(rel: str | None, alt: str) -> str:
    if not rel:
        return '<p class="muted">(no thumbnail stored)</p>'
    return f'<img src="{esc(file_href(rel))}" alt="{esc(alt)}">'


def timeline_svg(segments: list[dict], duration: float) -> str:
    rects = []
    for s in segments:
        x = 100 * s["start"] / duration
        w = max(100 * (s["end"] - s["start"]) / duration, 0.6)
        alpha = min(1.0, max(0.35, s["mean_score"]))
        rects.append(
            f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="10" fill="#3465a4" '
            f'fill-opacity="{alpha:.2f}"><title>{clock(s["start"])}–{clock(s["end"])}, '
            f'mean score {s["mean_score"]:.2f}, peak {s["peak_score"]:.2f} at '
            f'{clock(s["peak_t"])}</title></rect>')
    return ('<svg viewBox="0 0 100 10" preserveAspectRatio="none" role="img">'
            '<rect x="0" y="0" width="100" height="10" fill="#e9ecef"/>'
            + "".join(rects) + "</svg>")


def video_page(server: ReviewServer, video_id: str, query: dict[str, str]) -> bytes:
    cat = server.catalogue
    info = cat.videos([video_id]).get(video_id)
    if info is None:
        raise HttpError(404, f"no video {video_id!r} in the catalogue")
    name = info["file_name"] or video_id
    duration = info["duration"] or 0.0
    summary = cat.summary(video_id) or {}
    risk = cat.risk(video_id)
    segments = cat.segments(video_id)
    flagged = cat.flagged([video_id])
    top = list(summary.get("top_tags") or [])
    coverage = dict(zip(top, summary.get("top_coverage") or [], strict=False))
    wrong_tags = top + [c for c in dict.fromkeys(s["concept"] for s in flagged) if c not in top]
    with server.lock:
        con = server.session.store()
        try:
            in_force = effective(con)
        finally:
            con.close()
        marked = {v["tag"]: v for v in in_force
                  if v["scope"] == "video" and v["video_id"] == video_id and v["verdict"] == "no"}
        last = _log_row(server, query.get("last"))

    about = summary.get("about") or (f"not catalogued: {info['error']}" if not info["ok"]
                                     else "no summary yet")
    parts = [f'<h1>{esc(name)}</h1><p class="muted">{clock(duration)} · id {esc(video_id)}'
             + (f' · <span class="badge {esc(risk["decision"])}">{esc(risk["decision"])}</span>'
                f' risk {risk["risk"]:.2f}' if risk else "") + "</p>",
             f'<p class="about" id="about">{esc(about)}</p>']
    if last and last["video_id"] == video_id and last["scope"] == "video":
        parts.append(
            f'<div class="notice" id="recorded">Recorded: this video is not '
            f'<b>{esc(last["tag"])}</b>.<form method="post" action="/api/undo">'
            f'{hidden(verdict_id=last["verdict_id"])}<button class="small">Undo</button>'
            f'</form></div>')
    vid = video_id
    parts.append('<h2>Sensitive content over time</h2><div class="card">'
                 + picture(server, f"pictures/videos/{vid}_severity.png", "severity strip")
                 + "</div>")
    if risk and risk.get("evidence"):
        parts.append(f'<p class="muted">{esc(risk["evidence"])}</p>')
    if flagged:
        figs = "".join(
            f'<figure>{thumbnail_img(s["thumbnail"], "peak frame")}<figcaption>'
            f'<b>{esc(s["concept"])}</b> {clock(s["start"])}–{clock(s["end"])}'
            f'<br>peak {s["peak"]:.2f} at {clock(s["peak_t"])} · {esc(s["level"])}'
            f'</figcaption></figure>' for s in flagged)
        parts.append(f'<h2>Flagged moments</h2><div class="grid thumbs">{figs}</div>')
    parts.append('<h2>What it is about</h2><div class="grid"><div class="card">'
                 + picture(server, f"pictures/videos/{vid}_cloud.png", "word cloud")
                 + '</div><div class="card">'
                 + picture(server, f"pictures/videos/{vid}_tags.png", "top tags bar chart")
                 + "</div></div>")
    if wrong_tags and duration > 0:
        lines = []
        for tag in wrong_tags:
            if tag in marked:
                action = (f'<span class="muted">marked wrong</span> <form method="post" '
                          f'action="/api/undo" style="display:inline">'
                          f'{hidden(verdict_id=marked[tag]["verdict_id"])}'
                          f'<button class="small">Undo</button></form>')
            else:
                fields = hidden(video_id=video_id, t=0.0, tag=tag, verdict="no", scope="video",
                                source="button")
                action = (f'<form method="post" action="/api/answer">{fields}'
                          f'<button class="small" data-wrong="{esc(tag)}" title="record that '
                          f'this video is not {esc(tag)}">That\'s wrong</button></form>')
            share = f"{coverage[tag]:.0%} of the time" if tag in coverage else "flagged"
            lines.append(
                f'<div><b>{esc(tag)}</b><div class="muted">{share}</div></div>'
                f'{timeline_svg(segments.get(tag, []), duration)}<div>{action}</div>')
        parts.append(
            '<h2>Timelines</h2><div class="card timeline">' + "".join(lines)
            + f'<div></div><div class="muted" style="display:flex;justify-content:'
            f'space-between"><span>0:00</span><span>{clock(duration)}</span></div>'
            '<div></div></div>')
    return page(name, "".join(parts))


def _log_row(server: ReviewServer, verdict_id: str | None) -> dict | None:
    """One row of the verdict log by id (call under the lock)."""
    if not verdict_id or not VERDICT_ID.match(verdict_id):
        return None
    return next((r for r in server.session.log() if r["verdict_id"] == verdict_id), None)


def _score_at(session: ReviewSession, video_id: str, t: float, tag: str) -> float:
    for v in session.videos:
        if v.video_id == video_id and tag in v.scores and len(v.times):
            return float(v.scores[tag][int(np.argmin(np.abs(v.times - t)))])
    return float("nan")


def _again(server: ReviewServer, row: dict) -> Asked:
    """The question whose answer was just undone, asked again."""
    session = server.session
    vid, t, tag = row["video_id"], row["start"], row["tag"]
    thumbs = export_thumbnails(session.layout, session.frames_folder, {vid: [t]})
    reason = "audit" if row["source"] == "audit" else "again"
    question = Question(vid, t, tag, _score_at(session, vid, t, tag), reason, 0.0)
    return Asked(question, session.names.get(vid, vid), thumbs.get((vid, t)))


def questions_page(server: ReviewServer, query: dict[str, str]) -> bytes:
    with server.lock:
        session = server.fresh_session()
        last = _log_row(server, query.get("last"))
        again = _log_row(server, query.get("again"))
        if again is not None and again["scope"] == "frame" and again["verdict"] != "undo":
            current: Asked | None = _again(server, again)
        else:
            asked = session.questions(QUESTION_BATCH + len(server.skipped))
            current = next((a for a in asked if _key(a.question.video_id, a.question.t,
                                                     a.question.tag) not in server.skipped),
                           None)
        progress = session.progress()
    last_id = last["verdict_id"] if last and last["verdict"] != "undo" else None

    parts = []
    if last_id:
        parts.append(f'<p class="notice" id="recorded">Recorded <b>{esc(last["verdict"])}</b> '
                     f'for {esc(last["tag"])} at {clock(last["start"])} of '
                     f'{esc(session.names.get(last["video_id"], last["video_id"]))}.</p>')
    elif again is not None:
        parts.append('<p class="notice" id="recorded">Undone. Answer it again, or skip.</p>')
    undo = (f'<form method="post" action="/api/undo">{hidden(verdict_id=last_id)}'
            f'<button type="submit" data-key="z" id="undo"{"" if last_id else " disabled"}>'
            f'Undo <kbd>z</kbd></button></form>')
    if current is None:
        skipped = (f" You skipped {len(server.skipped)}: they come back when the server "
                   "restarts." if server.skipped else "")
        parts.append(f'<div class="card" id="question" data-empty="1"><h1>No questions '
                     f'waiting</h1><p>Every uncertain frame has an answer.{skipped}</p>'
                     f'<div class="buttons">{undo}</div></div>')
    else:
        q = current.question
        source = "audit" if q.reason == "audit" else "question"
        where = (f'<a href="{esc(video_href(q.video_id))}">{esc(current.file_name)}</a> at '
                 f'<b>{clock(q.t)}</b>')
        score = f" · model score {q.score:.2f}" if math.isfinite(q.score) else ""
        why = REASONS.get(q.reason, "you undid your answer: answer it again")
        img = (f'<img src="{esc(file_href(current.thumbnail))}" alt="frame at {clock(q.t)} of '
               f'{esc(current.file_name)}">' if current.thumbnail
               else '<p class="muted">(no thumbnail stored for this frame)</p>')
        key = hidden(video_id=q.video_id, t=repr(q.t), tag=q.tag)
        parts.append(f"""
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
</div></div></div>""")
    parts.append(progress_html(progress))
    return page("Questions", "".join(parts), script=KEYS_JS)


def progress_html(progress: dict) -> str:
    rows = []
    for tag, d in sorted(progress["per_tag"].items(), key=lambda kv: (-kv[1]["answered"], kv[0])):
        judged = d["audit_yes"] + d["audit_no"]
        precision = (f"{d['precision']:.0%} <span class='muted'>({d['audit_yes']} of {judged} "
                     f"audited)</span>" if d["precision"] is not None
                     else '<span class="muted">no audit answers yet</span>')
        rows.append(f"<tr><td>{esc(tag)}</td><td class='num'>{d['answered']}</td>"
                    f"<td>{precision}</td></tr>")
    table = ("<table><thead><tr><th>Tag</th><th>Answered</th><th>Estimated precision</th>"
             "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>") if rows else ""
    return (f'<h2>Progress</h2><p id="progress" data-answered="{progress["answered"]}">'
            f'{progress["answered"]} answered so far.</p>{table}')


def error_page(status: int, message: str) -> bytes:
    return page(f"{status}", f'<h1>{status} {esc(HTTPStatus(status).phrase)}</h1>'
                             f'<p id="error">{esc(message)}</p><p><a href="/">Back to the '
                             f'archive</a></p>')


# ----------------------------------------------------------------------------- requests


def _key(video_id: str, t: float, tag: str) -> tuple[str, float, str]:
    return (video_id, round(t, 3), tag)


def _text(body: dict, field: str) -> str:
    value = body[field]
    if not isinstance(value, str) or not value:
        raise HttpError(400, f"{field} must be a non-empty string")
    return value


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise HttpError(400, f"t must be a number of seconds, not {value!r}")
    try:
        t = float(value)
    except ValueError:
        raise HttpError(400, f"t must be a number of seconds, not {value!r}") from None
    if not math.isfinite(t):
        raise HttpError(400, f"t must be a finite number of seconds, not {value!r}")
    return t


def _require(body: dict, *fields: str) -> None:
    missing = [f for f in fields if body.get(f) in (None, "")]
    if missing:
        raise HttpError(400, f"missing field{'s' if len(missing) > 1 else ''}: "
                             + ", ".join(missing))


def answer(server: ReviewServer, body: dict) -> dict:
    """Validate and record one answer; returns the new verdict's id and what it was about."""
    _require(body, "video_id", "tag", "verdict")
    video_id, tag, verdict = _text(body, "video_id"), _text(body, "tag"), _text(body, "verdict")
    if verdict not in ANSWERS:
        raise HttpError(400, f"verdict must be yes, no or unsure, not {verdict!r}")
    source = body.get("source") or "question"
    if source not in SOURCES:
        raise HttpError(400, f"source must be one of {', '.join(SOURCES)}, not {source!r}")
    scope = body.get("scope") or "frame"
    if scope not in ("frame", "video"):
        raise HttpError(400, f"scope must be frame or video, not {scope!r}")
    if scope == "frame":
        _require(body, "t")
        t = _seconds(body["t"])
    with server.lock:
        session = server.fresh_session()
        try:
            session.validate(video_id, tag)
        except VerdictError as exc:
            raise HttpError(400, str(exc)) from None
        duration = server.durations().get(video_id)
        if duration is None:
            raise HttpError(400, f"video {video_id!r} was not catalogued: nothing to answer")
        if scope == "video":
            start, end = 0.0, float(duration)
        elif not 0 <= t <= duration + 1.0:
            raise HttpError(400, f"t={t:g} is outside video {video_id!r} (0 to {duration:g} s)")
        else:
            start = end = t
        try:
            verdict_id = session.answer(video_id, start, tag, verdict, scope=scope, end=end,
                                        source=source)
        except VerdictError as exc:
            raise HttpError(400, str(exc)) from None
    return {"verdict_id": verdict_id, "scope": scope, "video_id": video_id, "t": start,
            "end": end, "tag": tag, "verdict": verdict}


def undo(server: ReviewServer, body: dict) -> dict:
    _require(body, "verdict_id")
    verdict_id = _text(body, "verdict_id")
    with server.lock:
        rows = server.session.log()
        row = next((r for r in rows if r["verdict_id"] == verdict_id), None)
        if row is None:
            raise HttpError(404, f"no verdict {verdict_id!r} to undo")
        if row["verdict"] == "undo":
            raise HttpError(409, "an undo cannot itself be undone: answer again instead")
        if any(r["undoes"] == verdict_id for r in rows):
            raise HttpError(409, f"verdict {verdict_id!r} is already undone")
        undo_id = server.session.undo(verdict_id)
    return {"undo_id": undo_id, "undoes": verdict_id, "scope": row["scope"],
            "video_id": row["video_id"], "tag": row["tag"]}


def skip(server: ReviewServer, body: dict) -> dict:
    _require(body, "video_id", "t", "tag")
    key = _key(_text(body, "video_id"), _seconds(body["t"]), _text(body, "tag"))
    with server.lock:
        server.skipped.add(key)
    return {"skipped": list(key)}


class ReviewHandler(BaseHTTPRequestHandler):
    server: ReviewServer
    server_version = "reelcat"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib name)
        LOG.info("%s %s", self.address_string(), format % args)

    # -- responses

    def _send(self, status: int, body: bytes, ctype: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy",
                         "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
                         "script-src 'unsafe-inline'; form-action 'self'")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _html(self, body: bytes, status: int = 200) -> None:
        self._send(status, body, "text/html; charset=utf-8")

    def _json(self, data: dict, status: int = 200) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _redirect(self, location: str) -> None:
        self._send(303, b"", "text/plain", {"Location": location})

    def _error(self, status: int, message: str, as_json: bool) -> None:
        if as_json:
            self._json({"error": message, "status": status}, status)
        else:
            self._html(error_page(status, message), status)

    def _wants_json(self) -> bool:
        return (self.headers.get_content_type() == "application/json"
                or "application/json" in (self.headers.get("Accept") or ""))

    # -- GET

    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            if parts.path == "/":
                self._html(archive_page(self.server))
            elif parts.path.startswith("/video/"):
                self._html(video_page(self.server, unquote(parts.path[len("/video/"):]), query))
            elif parts.path == "/questions":
                self._html(questions_page(self.server, query))
            elif parts.path.startswith("/files/"):
                self._file(parts.path[len("/files/"):])
            elif parts.path == "/favicon.ico":
                self._send(204, b"", "image/x-icon")
            else:
                raise HttpError(404, f"no page {parts.path!r}")
        except HttpError as exc:
            self._error(exc.status, exc.message, self._wants_json())
        except Exception:
            LOG.exception("GET %s failed", self.path)
            self._error(500, "internal error: see the server's log", self._wants_json())

    do_HEAD = do_GET

    def _file(self, raw: str) -> None:
        rel = unquote(raw)
        root = self.server.out
        if "\x00" in rel or Path(rel).is_absolute():
            raise HttpError(403, "only files inside the catalogue's output folder are served")
        path = (root / rel).resolve()
        if not path.is_relative_to(root):
            raise HttpError(403, "only files inside the catalogue's output folder are served")
        ctype = IMAGE_TYPES.get(path.suffix.lower())
        if ctype is None or not path.is_file():
            raise HttpError(404, f"no picture {rel!r}")
        self._send(200, path.read_bytes(), ctype)

    # -- POST

    def do_POST(self) -> None:  # noqa: N802 (stdlib name)
        as_json = self._wants_json()
        try:
            origin = self.headers.get("Origin")
            if origin and origin != "null" and urlsplit(origin).netloc != self.headers.get("Host"):
                raise HttpError(403, "cross-site request refused")
            path = urlsplit(self.path).path
            action = {"/api/answer": answer, "/api/undo": undo, "/api/skip": skip}.get(path)
            if action is None:
                raise HttpError(404, f"no endpoint {path!r}")
            body, as_json = self._body()
            result = action(self.server, body)
        except HttpError as exc:
            self._error(exc.status, exc.message, as_json)
            return
        except Exception:
            LOG.exception("POST %s failed", self.path)
            self._error(500, "internal error: see the server's log", as_json)
            return
        if as_json:
            self._json(result)
        else:
            self._redirect(self._after(path, body, result))

    def _body(self) -> tuple[dict, bool]:
        """The request's fields, and whether it came as JSON."""
        ctype = self.headers.get_content_type()
        as_json = ctype == "application/json"
        length = self.headers.get("Content-Length")
        try:
            n = int(length) if length is not None else 0
        except ValueError:
            raise HttpError(400, f"bad Content-Length {length!r}") from None
        if n > MAX_BODY:
            raise HttpError(413, f"request body over {MAX_BODY} bytes")
        raw = self.rfile.read(n) if n > 0 else b""
        if as_json:
            try:
                data = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                raise HttpError(400, f"malformed JSON: {exc}") from None
            if not isinstance(data, dict):
                raise HttpError(400, "expected a JSON object")
            return data, True
        if ctype == "application/x-www-form-urlencoded":
            try:
                fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
            except UnicodeDecodeError:
                raise HttpError(400, "form body is not UTF-8") from None
            return {k: v[-1] for k, v in fields.items()}, False
        raise HttpError(415, "send JSON (application/json) or a form "
                             "(application/x-www-form-urlencoded)")

    @staticmethod
    def _after(path: str, body: dict, result: dict) -> str:
        """Where a form post goes next."""
        if path == "/api/answer":
            if result["scope"] == "video":
                return f"{video_href(result['video_id'])}?last={result['verdict_id']}"
            return f"/questions?last={result['verdict_id']}"
        if path == "/api/undo":
            if result["scope"] == "video":
                return video_href(result["video_id"])
            return f"/questions?again={result['undoes']}"
        last = body.get("last")
        return f"/questions?last={last}" if last and VERDICT_ID.match(str(last)) else "/questions"


# ----------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reelcat serve", description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="reelcat.yaml (default: REELCAT_CONFIG or ./reelcat.yaml)")
    parser.add_argument("--out", help="the catalogue's output folder")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--reviewer", default="web", help="name recorded with each answer")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        cfg = load_config(args.config, overrides={"output_dir": str(Path(args.out).resolve())}
                          if args.out else None)
        serve(cfg, args.host, args.port, args.reviewer)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"reelcat: {exc}", flush=True)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
