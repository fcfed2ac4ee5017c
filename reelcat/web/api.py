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

from reelcat.feedback.verdicts import ANSWERS, SCOPES, VerdictError
from reelcat.web.errors import HttpError
from reelcat.web.pages import video_href

if TYPE_CHECKING:
    from reelcat.web.app import ReviewServer

SOURCES = ("question", "audit", "button")
VERDICT_ID = re.compile(r"^[0-9a-f]{32}$")


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


# ----------------------------------------------------------------------------- actions


def answer(server: ReviewServer, body: dict) -> dict:
    """Validate and record one answer; returns the new verdict's id and what it was about.

    Fields: video_id, tag, verdict (yes | no | unsure), source (question | audit |
    button), scope (frame, the default, with t in seconds; or video: the whole video).
    """
    _require(body, "video_id", "tag", "verdict")
    video_id, tag, verdict = _text(body, "video_id"), _text(body, "tag"), _text(body, "verdict")
    if verdict not in ANSWERS:
        raise HttpError(400, f"verdict must be yes, no or unsure, not {verdict!r}")
    source = body.get("source") or "question"
    if source not in SOURCES:
        raise HttpError(400, f"source must be one of {', '.join(SOURCES)}, not {source!r}")
    scope = body.get("scope") or "frame"
    if scope not in SCOPES:
        raise HttpError(400, f"scope must be {' or '.join(SCOPES)}, not {scope!r}")
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
            verdict_id = session.answer(
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


def undo(server: ReviewServer, body: dict) -> dict:
    """Take back one answer (a newer 'undo' row); an undo itself cannot be undone."""
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
    return {
        "undo_id": undo_id,
        "undoes": verdict_id,
        "scope": row["scope"],
        "video_id": row["video_id"],
        "tag": row["tag"],
    }


def skip(server: ReviewServer, body: dict) -> dict:
    """Leave a question for later: not asked again until the server restarts. Writes
    nothing."""
    _require(body, "video_id", "t", "tag")
    video_id, t, tag = _text(body, "video_id"), _seconds(body["t"]), _text(body, "tag")
    with server.lock:
        key = server.skip(video_id, t, tag)
    return {"skipped": list(key)}


ACTIONS: dict[str, Callable[[ReviewServer, dict], dict]] = {
    "/api/answer": answer,
    "/api/undo": undo,
    "/api/skip": skip,
}


def next_page(path: str, body: dict, result: dict) -> str:
    """Where a form post goes next (a JSON post gets `result` instead)."""
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
