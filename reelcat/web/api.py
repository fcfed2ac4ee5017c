"""The review page's POST actions: answer, undo and skip, each validated before anything
is written, and where a form post goes next.

Answers are recorded through the server's one `ReviewSession`, under its lock. A field
that fails validation raises HttpError (4xx, with the reason) and the verdict log is
left as it was.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from reelcat.feedback.verdicts import ANSWERS, SCOPES, UnknownVerdict, VerdictError
from reelcat.web.errors import HttpError
from reelcat.web.pages import video_href

if TYPE_CHECKING:
    from reelcat.web.app import ReviewServer

SOURCES = ("question", "audit", "button")
VERDICT_ID = re.compile(r"^[0-9a-f]{32}$")
BACK = re.compile(r"/(verdicts|video/)[!-\[\]-~]*")  # our pages; printable, no backslash


# ----------------------------------------------------------------------------- fields


def _require(body: dict, *fields: str) -> None:
    missing = [f for f in fields if body.get(f) in (None, "")]
    if missing:
        raise HttpError(
            400, f"missing field{'s' if len(missing) > 1 else ''}: " + ", ".join(missing)
        )


def _text(body: dict, field: str) -> str:
    value = body[field]
    if not isinstance(value, str) or not value:
        raise HttpError(400, f"{field} must be a non-empty string")
    return value


def seconds(value: object) -> float:
    """A time in seconds from a field or a URL; HttpError 400 unless a finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise HttpError(400, f"t must be a number of seconds, not {value!r}")
    try:
        t = float(value)
    except ValueError:
        raise HttpError(400, f"t must be a number of seconds, not {value!r}") from None
    if not math.isfinite(t):
        raise HttpError(400, f"t must be a finite number of seconds, not {value!r}")
    return t


# ----------------------------------------------------------------------------- actions


def _check_question(server: ReviewServer, video_id: str, tag: str) -> float:
    """Refuse an unknown video or tag (call under the lock); returns the video's length."""
    try:
        server.fresh_session().validate(video_id, tag)
    except VerdictError as exc:
        raise HttpError(400, str(exc)) from None
    duration = server.durations().get(video_id)
    if duration is None:
        raise HttpError(400, f"video {video_id!r} was not catalogued: nothing to answer")
    return float(duration)


def _check_time(video_id: str, t: float, duration: float) -> None:
    if not 0 <= t <= duration + 1.0:
        raise HttpError(400, f"t={t:g} is outside video {video_id!r} (0 to {duration:g} s)")


def answer(server: ReviewServer, body: dict) -> dict:
    """Validate and record one answer; returns the new verdict's id and what it was about.

    Fields: video_id, tag, verdict (yes | no | unsure), source (question | audit |
    button), scope (frame, the default, with t in seconds; or video: the whole video).
    """
    _require(body, "video_id", "tag", "verdict")
    video_id, tag, verdict = _text(body, "video_id"), _text(body, "tag"), _text(body, "verdict")
    if verdict not in ANSWERS:
        raise HttpError(400, f"verdict must be yes, no or unsure, not {verdict!r}")
    source = _source(body)
    scope = body.get("scope") or "frame"
    if scope not in SCOPES:
        raise HttpError(400, f"scope must be {' or '.join(SCOPES)}, not {scope!r}")
    if scope == "frame":
        _require(body, "t")
        t = seconds(body["t"])
    with server.lock:
        duration = _check_question(server, video_id, tag)
        if scope == "video":
            start, end = 0.0, duration
        else:
            _check_time(video_id, t, duration)
            start = end = t
        try:
            verdict_id = server.session.answer(
                video_id, start, tag, verdict, scope=scope, end=end, source=source
            )
        except VerdictError as exc:
            raise HttpError(400, str(exc)) from None
    return {
        "verdict_id": verdict_id,
        "scope": scope,
        "video_id": video_id,
        "t": start,
        "end": end,
        "tag": tag,
        "verdict": verdict,
    }


def _source(body: dict) -> str:
    source = body.get("source") or "question"
    if source not in SOURCES:
        raise HttpError(400, f"source must be one of {', '.join(SOURCES)}, not {source!r}")
    return source


def undo(server: ReviewServer, body: dict) -> dict:
    """Take back one answer or skip (a newer 'undo' row); an undo itself cannot be undone."""
    _require(body, "verdict_id")
    verdict_id = _text(body, "verdict_id")
    if not VERDICT_ID.match(verdict_id):  # a whole id: the page never undoes by prefix
        raise HttpError(404, f"no verdict {verdict_id!r} to undo")
    with server.lock:
        try:
            (row,) = server.session.undo(verdict_id)
        except UnknownVerdict:
            raise HttpError(404, f"no verdict {verdict_id!r} to undo") from None
        except VerdictError as exc:
            raise HttpError(409, str(exc)) from None
    return {
        "undo_id": row["undo_id"],
        "undoes": verdict_id,
        "scope": row["scope"],
        "video_id": row["video_id"],
        "tag": row["tag"],
    }


def skip(server: ReviewServer, body: dict) -> dict:
    """Leave a question for later: a 'skip' row in the verdict log with the model's score
    now, so neither the page nor `reelcat review` asks it again until that score moves
    (ReviewSession.answered)."""
    _require(body, "video_id", "t", "tag")
    video_id, t, tag = _text(body, "video_id"), seconds(body["t"]), _text(body, "tag")
    source = _source(body)
    with server.lock:
        _check_time(video_id, t, _check_question(server, video_id, tag))
        verdict_id = server.session.skip(video_id, t, tag, source=source)
    return {"verdict_id": verdict_id, "skipped": [video_id, t, tag]}


ACTIONS: dict[str, Callable[[ReviewServer, dict], dict]] = {
    "/api/answer": answer,
    "/api/undo": undo,
    "/api/skip": skip,
}


def next_page(path: str, body: dict, result: dict) -> str:
    """Where a form post goes next (a JSON post gets `result` instead): the page named in
    `back` when it is one of ours (the answers list, a video page), otherwise as below."""
    back = str(body.get("back") or "")
    if BACK.fullmatch(back):
        return back
    if path == "/api/answer":
        if result["scope"] == "video":
            return f"{video_href(result['video_id'])}?last={result['verdict_id']}"
        return f"/questions?last={result['verdict_id']}"
    if path == "/api/undo":
        if result["scope"] == "video":
            return video_href(result["video_id"])
        return f"/questions?again={result['undoes']}"
    return f"/questions?last={result['verdict_id']}"  # a skip: its notice and Undo
