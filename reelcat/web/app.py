"""The review web page's HTTP server (`reelcat serve`): routing and responses.

The archive's heat map and risk queue, a page per video, and "Is this X?" questions one
at a time, on the standard library's HTTP server. Pages read the pipeline's DuckDB
catalogue (reelcat.web.data, rendered by reelcat.web.pages); answers are recorded
through one shared `ReviewSession` (reelcat.web.api), so the page and the terminal
review ask and record the same way. It binds 127.0.0.1
by default: a reviewer's local tool, with no login.

Who it answers (`ReviewServer.host_allowed`; `ReviewHandler._admit`, `_check_origin`,
`_check_token`):
  * every request: a Host header naming this server with its port (127.0.0.1, localhost,
    [::1], the --host given, each --allow-host name; exposed on 0.0.0.0 or ::, any IP
    address), else 421: a web site whose name was re-pointed at this machine (DNS
    rebinding) is refused;
  * every POST: an Origin header equal to the server's own origin (a missing or `null`
    Origin is refused; the Referer is not accepted instead) and the session's CSRF token
    (`X-Reelcat-Token` header or `csrf` field, in every page's forms and its <meta>),
    else 403;
  * exposed (`--expose`, needed to bind beyond loopback): the access token printed at
    start, as `?token=` once (it sets an HttpOnly SameSite=Strict cookie) or an
    `Authorization: Bearer` header, else 401.
A refused request writes nothing. Every response says Cross-Origin-Resource-Policy:
same-origin, so another site's page cannot embed the archive's frames, clips or videos.

    GET  /                      heat map, review queue (riskiest first), cleared videos,
                                a still of each; ?tag= &decision=review|clear &risk=
                                (the least) &damaged=1 filter it, &limit= &page= page it
    GET  /search?q=<text>       the sampled frames most like the text, as a grid of stills
                                linked to /video/<id>?t= (reelcat.web.search_page); &k=
    GET  /video/<video_id>      the player, summary, severity and tag timelines on a time
                                axis, flagged peak frames, word cloud, tag chart, "that's
                                wrong" buttons; ?t=<seconds> starts playing there (a
                                heat-map cell, a search hit); a click on a timeline or a
                                flagged moment plays from its start (/static/play.js)
    GET  /questions             one question at a time (the frame at full size, a clip
                                around it); keys y / n / u / s / z
    GET  /verdicts              the answers given, newest first, with Undo, and what the
                                last learning step changed; ?tag= &video= &reviewer=
                                &since= &limit= &all=1 (skips and undo rows too)
    GET  /frame/<video_id>/<t>.jpg     the archive's frame at t seconds, full size
    GET  /thumbnail/<video_id>/<t>.jpg the stored thumbnail of the sampled frame
                                       nearest t (what a frame falls back to)
    GET  /clip/<video_id>/<t>.mp4      about 4 s around t (.webm where ffmpeg lacks
                                       libx264); both cut from the archive file once
    GET  /play/<video_id>       the video for the page's player, with HTTP Range: the
                                archive file, or a low-resolution copy made once where
                                browsers cannot play it (reelcat.web.playback)
    GET  /files/<path>          PNG or JPEG from inside the output folder, nothing else
    GET  /picture/<video_id>/<kind>.png   the video's cloud, tags chart or severity
                                strip, drawn on request
    GET  /static/<name>         the pages' style.css, keys.js, play.js and fallback.js
    POST /api/answer            {video_id, t, tag, verdict: yes|no|unsure, source,
                                 scope: frame (default) | video}
    POST /api/undo              {verdict_id}
    POST /api/skip              {video_id, t, tag}: a 'skip' row in the verdict log

POST bodies are JSON (the reply is JSON) or an HTML form (the reply is a 303 back to the
page, or to `back` when it names the answers list or a video page), so the pages work
with or without JavaScript. A request that fails validation is
a 4xx with the reason and writes nothing.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import secrets
import socket
import sys
import threading
from collections.abc import Iterable
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode, urlsplit

from reelcat.config import Config, ConfigError
from reelcat.feedback import question_media
from reelcat.feedback.review_session import ReviewSession
from reelcat.storage.layout import Layout
from reelcat.storage.mirror import Mirror
from reelcat.video_pictures import NoSuchPicture, video_picture
from reelcat.web import api, data, pages, playback, search_page
from reelcat.web.errors import HttpError

LOG = logging.getLogger("reelcat.web.app")

MAX_BODY = 64 * 1024
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
MEDIA_TYPES = {"jpg": "image/jpeg", "mp4": "video/mp4", "webm": "video/webm"}
STATIC = Path(__file__).resolve().parent / "static"
STATIC_TYPES = {
    "style.css": "text/css; charset=utf-8",
    "keys.js": "text/javascript; charset=utf-8",
    "play.js": "text/javascript; charset=utf-8",
    "fallback.js": "text/javascript; charset=utf-8",
}
POLICY = (
    "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'self'; "
    "script-src 'self'; form-action 'self'"
)
COOKIE = "reelcat_access"  # holds the access token of an exposed server
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
WILDCARDS = ("0.0.0.0", "::", "")


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the page on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, expose: bool) -> None:
    """Refuse (ConfigError) to bind beyond loopback unless told to expose the page."""
    if not expose and not is_loopback(host):
        raise ConfigError(
            f"--host {host} would serve the review page to the network: add --expose "
            "(every request then needs the access token printed at start)"
        )


def _bracketed(name: str) -> str:
    """A host name as a Host header writes it (an IPv6 address in brackets)."""
    return f"[{name}]" if ":" in name and not name.startswith("[") else name


def _same(given: object, secret: str | None) -> bool:
    """Whether `given` is the secret (compared in constant time)."""
    return (
        isinstance(given, str)
        and secret is not None
        and secrets.compare_digest(given.encode(), secret.encode())
    )


class ReviewServer(ThreadingHTTPServer):
    """The HTTP server plus the one review session its request threads share."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        cfg: Config,
        reviewer: str,
        *,
        expose: bool = False,
        allow_hosts: Iterable[str] = (),
    ):
        host = address[0]
        check_bind(host, expose)
        self.cfg = cfg
        self.layout = Layout(Path(cfg.output_dir).resolve())
        if not self.layout.catalog.exists():
            raise FileNotFoundError(
                f"no catalogue at {self.layout.out}: run `reelcat run` for this output folder first"
            )
        # ReviewSession and the verdict log are used one request at a time.
        self.lock = threading.Lock()
        self.session = ReviewSession(cfg, reviewer)
        # an output in object storage: each answer is published as soon as it is written
        self.mirror = Mirror(cfg.output_url, cfg.output_dir) if cfg.output_url else None
        self._signature = self._files_signature()
        # Sent by the page's forms and script with every POST (a cross-site page cannot
        # read it); asked of every request when exposed.
        self.csrf_token = secrets.token_urlsafe(32)
        self.access_token = secrets.token_urlsafe(32) if expose else None
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__(address, ReviewHandler)
        port = self.server_address[1]
        names = {*LOOPBACK_NAMES, _bracketed(host)} | {_bracketed(n) for n in allow_hosts}
        self.hosts = {f"{n}:{port}".lower() for n in names}
        if port == 80:
            self.hosts |= {n.lower() for n in names}
        self.any_ip = expose and host in WILDCARDS

    @property
    def out(self) -> Path:
        return self.layout.out

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{_bracketed(host)}:{port}"

    def host_allowed(self, host: str) -> bool:
        """Whether a request's Host header names this server (see the module docstring)."""
        host = host.lower()
        if host in self.hosts:
            return True
        name, _, port = host.rpartition(":")
        if not self.any_ip or port != str(self.server_address[1]):
            return False
        try:
            ipaddress.ip_address(name.removeprefix("[").removesuffix("]"))
        except ValueError:
            return False
        return True

    def _files_signature(self) -> tuple[int, ...]:
        """Changes when the pipeline re-ran: a new catalogue or new thresholds."""
        files = (self.layout.catalog, self.layout.thresholds)
        return tuple(f.stat().st_mtime_ns if f.exists() else 0 for f in files)

    def fresh_session(self) -> ReviewSession:
        """The session, re-read when the pipeline has re-run since (call under the lock)."""
        signature = self._files_signature()
        if signature != self._signature:
            self.session.reload()
            self._signature = signature
        return self.session

    def durations(self) -> dict[str, float]:
        """video_id -> duration of the videos that can be answered about."""
        return {v.video_id: v.duration for v in self.session.videos}


def make_server(
    cfg: Config,
    host: str = "127.0.0.1",
    port: int = 0,
    reviewer: str = "web",
    *,
    expose: bool = False,
    allow_hosts: Iterable[str] = (),
) -> ReviewServer:
    """A bound, not yet serving, review server (port 0 picks a free port; see `.url`).
    `expose` allows a host beyond loopback and asks every request for `.access_token`;
    `allow_hosts` are further names the Host header may give."""
    return ReviewServer((host, port), cfg, reviewer, expose=expose, allow_hosts=allow_hosts)


def serve(
    cfg: Config,
    host: str = "127.0.0.1",
    port: int = 8000,
    reviewer: str = "web",
    *,
    expose: bool = False,
    allow_hosts: Iterable[str] = (),
) -> None:
    """Serve the review page until interrupted; exposed, warn and print the access token."""
    server = make_server(cfg, host, port, reviewer, expose=expose, allow_hosts=allow_hosts)
    url = f"{server.url}/"
    if server.access_token is not None:
        if not is_loopback(host):
            print(
                f"reelcat: WARNING: serving the review page to the network on {host}:"
                f"{server.server_address[1]}; anyone who reaches it with the token below "
                "can read the catalogue and record answers",
                file=sys.stderr,
                flush=True,
            )
        if host in WILDCARDS:
            url = f"http://<this machine's address>:{server.server_address[1]}/"
        url += f"?token={server.access_token}"
    print(f"reelcat: review page at {url}  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


class ReviewHandler(BaseHTTPRequestHandler):
    server: ReviewServer
    server_version = "reelcat"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib name)
        LOG.info("%s %s", self.address_string(), format % args)

    # -- responses

    def _start(self, status: int, ctype: str, length: int, extra: dict | None = None) -> None:
        """The status line and headers of a response whose body is `length` bytes."""
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", POLICY)
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def _send(self, status: int, body: bytes, ctype: str, extra: dict | None = None) -> None:
        self._start(status, ctype, len(body), extra)
        if self.command != "HEAD":
            self.wfile.write(body)

    def _html(self, body: bytes, status: int = 200) -> None:
        self._send(status, body, "text/html; charset=utf-8")

    def _json(self, data: dict, status: int = 200) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _redirect(self, location: str) -> None:
        self._send(303, b"", "text/plain", {"Location": location})

    def _error(self, status: int, message: str, as_json: bool, extra: dict | None = None) -> None:
        if status == 401:
            extra = {"WWW-Authenticate": 'Bearer realm="reelcat"'}
        if as_json:
            body = json.dumps({"error": message, "status": status}).encode()
            self._send(status, body, "application/json", extra)
        else:
            self._send(status, pages.error_page(status, message), "text/html; charset=utf-8", extra)

    def _wants_json(self) -> bool:
        return self.headers.get_content_type() == "application/json" or "application/json" in (
            self.headers.get("Accept") or ""
        )

    # -- who is answered

    def _admit(self) -> bool:
        """Refuse (HttpError) a request for another Host, or one without the access token
        when exposed. True when it answered the request itself: a ?token= visit, sent on
        to the same page without the token, with the token as a cookie."""
        srv = self.server
        host = self.headers.get("Host")
        if not host:
            raise HttpError(400, "no Host header: refused")
        if not srv.host_allowed(host):
            raise HttpError(421, f"Host {host!r} is not this server's address: refused")
        if srv.access_token is None:
            return False
        scheme, _, bearer = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and _same(bearer.strip(), srv.access_token):
            return False
        for part in (self.headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE and _same(value, srv.access_token):
                return False
        parts = urlsplit(self.path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        if self.command != "POST" and any(
            k == "token" and _same(v, srv.access_token) for k, v in query
        ):
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            cookie = f"{COOKIE}={srv.access_token}; HttpOnly; SameSite=Strict; Path=/"
            where = "/" + parts.path.lstrip("/") + (f"?{rest}" if rest else "")
            self._send(303, b"", "text/plain", {"Location": where, "Set-Cookie": cookie})
            return True
        raise HttpError(
            401, "the access token is needed: open the ?token= address `reelcat serve` printed"
        )

    def _check_origin(self) -> None:
        """Refuse (403) a POST whose Origin is not this server's own (missing and `null`
        included: every browser sends it with a POST; the Referer is not asked instead)."""
        origin = self.headers.get("Origin")
        if origin is None:
            raise HttpError(403, "no Origin header: only the review page itself may post")
        if origin.lower() != "http://" + (self.headers.get("Host") or "").lower():
            raise HttpError(403, f"cross-site request from Origin {origin!r} refused")

    def _check_token(self, body: dict) -> None:
        """Refuse (403) a POST without the session's CSRF token (header or `csrf` field)."""
        given = self.headers.get("X-Reelcat-Token") or body.get("csrf")
        body.pop("csrf", None)
        if not _same(given, self.server.csrf_token):
            raise HttpError(403, "missing or wrong CSRF token: reload the page and try again")

    # -- GET

    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            if self._admit():
                return
            if parts.path == "/":
                self._html(pages.archive_page(self.server, query))
            elif parts.path == "/search":
                self._html(search_page.search_page(self.server, query))
            elif parts.path.startswith("/video/"):
                video_id = unquote(parts.path[len("/video/") :])
                start = api.seconds(query["t"]) if "t" in query else None
                self._html(pages.video_page(self.server, video_id, query, start))
            elif parts.path.startswith("/play/"):
                self._play(unquote(parts.path[len("/play/") :]))
            elif parts.path == "/questions":
                self._html(pages.questions_page(self.server, query))
            elif parts.path == "/verdicts":
                self._html(pages.verdicts_page(self.server, query))
            elif parts.path.startswith(("/frame/", "/clip/")):
                kind, _, rest = parts.path[1:].partition("/")
                self._question_media(kind, unquote(rest))
            elif parts.path.startswith("/thumbnail/"):
                self._thumbnail(unquote(parts.path[len("/thumbnail/") :]))
            elif parts.path.startswith("/files/"):
                self._file(parts.path[len("/files/") :])
            elif parts.path.startswith("/picture/"):
                self._video_picture(unquote(parts.path[len("/picture/") :]))
            elif parts.path.startswith("/static/"):
                self._static(parts.path[len("/static/") :])
            elif parts.path == "/favicon.ico":
                self._send(204, b"", "image/x-icon")
            else:
                raise HttpError(404, f"no page {parts.path!r}")
        except HttpError as exc:
            self._error(exc.status, exc.message, self._wants_json(), exc.headers)
        except ConnectionError:  # the browser left before the answer (a page's stills)
            self.close_connection = True
        except Exception:
            LOG.exception("GET %s failed", self.path)
            self._error(500, "internal error: see the server's log", self._wants_json())

    do_HEAD = do_GET

    def _file(self, raw: str) -> None:
        """A PNG or JPEG from inside the output folder (links pointing out are refused)."""
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

    def _video_picture(self, rest: str) -> None:
        """/picture/<video_id>/<kind>.png: drawn now from the catalogue."""
        video_id, _, name = rest.rpartition("/")
        if not name.endswith(".png"):
            raise HttpError(404, f"no picture {rest!r}")
        try:
            with data.open_catalogue(self.server.layout) as con:
                png = video_picture(con, video_id, name.removesuffix(".png"))
        except NoSuchPicture as exc:
            raise HttpError(404, str(exc)) from None
        self._send(200, png, "image/png")

    def _question_media(self, kind: str, rest: str) -> None:
        """/frame/<video_id>/<t>.jpg or /clip/<video_id>/<t>.<mp4|webm>: cut from the
        archive file (reelcat.feedback.question_media), kept for the next time."""
        video_id, _, name = rest.rpartition("/")
        stem, _, ext = name.rpartition(".")
        if ext != ("jpg" if kind == "frame" else question_media.clip_format()):
            raise HttpError(404, f"no {kind} {name!r}: ask for <seconds>.jpg or .mp4/.webm")
        t = api.seconds(stem)
        with data.open_catalogue(self.server.layout) as con:
            info = data.video(con, video_id)
            if info is None or not info["ok"]:
                raise HttpError(404, f"no catalogued video {video_id!r}")
            duration = info["duration"] or 0.0
            if not 0 <= t <= duration:
                raise HttpError(400, f"t={t:g} is outside video {video_id!r} (0 to {duration:g} s)")
            try:
                source = question_media.archive_file(con, video_id)
            except question_media.MediaError as exc:
                raise HttpError(404, str(exc)) from None
        cut = question_media.frame if kind == "frame" else question_media.clip
        try:
            path = cut(self.server.layout, source, video_id, t)
        except question_media.MediaError as exc:
            raise HttpError(404, str(exc)) from None
        self._send(200, path.read_bytes(), MEDIA_TYPES[ext])

    def _thumbnail(self, rest: str) -> None:
        """/thumbnail/<video_id>/<t>.jpg: the stored thumbnail of the frame nearest t."""
        video_id, _, name = rest.rpartition("/")
        if not name.endswith(".jpg"):
            raise HttpError(404, f"no thumbnail {name!r}: ask for <seconds>.jpg")
        t = api.seconds(name.removesuffix(".jpg"))
        with data.open_catalogue(self.server.layout) as con:
            jpeg = data.stored_thumbnail(con, video_id, t)
        if jpeg is None:
            raise HttpError(404, f"no stored frames of video {video_id!r}")
        self._send(200, jpeg, "image/jpeg")

    def _play(self, video_id: str) -> None:
        """/play/<video_id>: the archive file, or its proxy (reelcat.web.playback)."""
        with data.open_catalogue(self.server.layout) as con:
            try:
                source = question_media.archive_file(con, video_id)
            except question_media.MediaError as exc:
                raise HttpError(404, str(exc)) from None
            source["codec"] = data.codec(con, source["path"])
        try:
            media = playback.media(self.server.layout, source, video_id)
        except question_media.MediaError as exc:
            raise HttpError(404, str(exc)) from None
        with ExitStack() as stack:
            try:
                fh, size = stack.enter_context(playback.opened(media.location))
            except OSError as exc:
                raise HttpError(404, f"{video_id}: the file cannot be read ({exc})") from None
            self._send_bytes(media, fh, size)

    def _send_bytes(self, media: playback.Media, fh: BinaryIO, size: int) -> None:
        """The file whole (200), or the one byte range asked for (206; 416 past its end;
        If-Range: only while the file is the one it names), playback.CHUNK at a time."""
        if_range = self.headers.get("If-Range")
        asked = self.headers.get("Range") if if_range in (None, media.etag) else None
        try:
            span = playback.byte_range(asked, size)
        except playback.Unsatisfiable:
            raise HttpError(
                416, f"{asked}: the file has {size} bytes", {"Content-Range": f"bytes */{size}"}
            ) from None
        first, last = span or (0, size - 1)
        extra = {"Accept-Ranges": "bytes", "ETag": media.etag}
        if span:
            extra["Content-Range"] = f"bytes {first}-{last}/{size}"
        self._start(206 if span else 200, media.ctype, last - first + 1, extra)
        if self.command == "HEAD":
            return
        try:
            playback.send(fh, self.wfile, first, last)
        except ConnectionError:  # the browser stopped reading: it seeks, or left the page
            self.close_connection = True
        except OSError:
            LOG.exception("sending %s failed", media.location)
            self.close_connection = True

    def _static(self, name: str) -> None:
        """One of the pages' own files, by exact name."""
        ctype = STATIC_TYPES.get(name)
        if ctype is None:
            raise HttpError(404, f"no static file {name!r}")
        self._send(200, (STATIC / name).read_bytes(), ctype)

    # -- POST

    def do_POST(self) -> None:  # noqa: N802 (stdlib name)
        as_json = self._wants_json()
        try:
            self._admit()
            self._check_origin()
            path = urlsplit(self.path).path
            action = api.ACTIONS.get(path)
            if action is None:
                raise HttpError(404, f"no endpoint {path!r}")
            body, as_json = self._body()
            self._check_token(body)
            result = action(self.server, body)
            if self.server.mirror is not None:
                with self.server.lock:
                    self.server.mirror.push()
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
            self._redirect(api.next_page(path, body, result))

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
        raise HttpError(
            415, "send JSON (application/json) or a form (application/x-www-form-urlencoded)"
        )
