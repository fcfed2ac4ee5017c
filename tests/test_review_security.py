"""Who the review server answers: only requests addressed to it (the Host allow-list),
POSTs only from its own page (its Origin and the session's CSRF token), and, exposed
beyond loopback, only holders of the access token printed at start.

Real servers in threads over a copy of the scripted catalogue; requests by http.client,
each refusal checked by its status and by the verdict log gaining no row.
"""

from __future__ import annotations

import html
import http.client
import json
import re
import select
import shutil
import subprocess
import sys
import threading
from contextlib import contextmanager
from urllib.parse import urlencode

import pytest

from reelcat.web.app import make_server

from .conftest import REPO, run_cli, tiny_config


@contextmanager
def running(cfg, **options):
    """A review server on a free port, serving in a thread while the block runs."""
    srv = make_server(cfg, **options)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def cfg(out, scripted_archive, tmp_path_factory):
    """The scripted catalogue, copied: the accepted requests here write answers."""
    work = tmp_path_factory.mktemp("security") / "out"
    shutil.copytree(out, work)
    return tiny_config(scripted_archive, work)


@pytest.fixture(scope="module")
def server(cfg):
    with running(cfg) as srv:
        yield srv


def request(
    srv, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request to 127.0.0.1:PORT with exactly these headers (http.client adds Host
    unless `headers` names one; Host=None sends none)."""
    headers = dict(headers or {})
    con = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=30)
    try:
        con.putrequest(method, path, skip_host="Host" in headers, skip_accept_encoding=True)
        for k, v in headers.items():
            if v is not None:
                con.putheader(k, v)
        if body is not None:
            con.putheader("Content-Length", str(len(body)))
        con.endheaders(body)
        resp = con.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        con.close()


@pytest.fixture(scope="module")
def good(server) -> bytes:
    """The JSON body of an answer the server accepts (checked by the accepted cases)."""
    status, _, page = request(server, "GET", "/questions")
    assert status == 200
    m = re.search(
        r'id="question" data-video-id="([^"]+)" data-t="([^"]+)"\s+data-tag="([^"]+)"',
        page.decode(),
    )
    assert m, page
    fields = {"video_id": m[1], "t": float(m[2]), "tag": html.unescape(m[3]), "verdict": "no"}
    return json.dumps(fields).encode()


def rows(srv) -> int:
    return len(srv.session.log())


def post(srv, body: bytes, **headers) -> int:
    """POST /api/answer (JSON) with these headers; the status."""
    headers = {"Content-Type": "application/json", **headers}
    return request(srv, "POST", "/api/answer", body=body, headers=headers)[0]


def test_a_post_needs_the_servers_own_origin(server, good):
    before = rows(server)
    token = {"X-Reelcat-Token": server.csrf_token}
    assert post(server, good, Origin="null", **token) == 403  # a sandboxed iframe anywhere
    assert post(server, good, **token) == 403  # no Origin (and no Referer fallback)
    assert post(server, good, Referer=server.url + "/questions", **token) == 403
    assert post(server, good, Origin="http://evil.example", **token) == 403
    assert post(server, good, Origin=server.url.replace("127.0.0.1", "localhost"), **token) == 403
    assert rows(server) == before
    assert post(server, good, Origin=server.url, **token) == 200  # the page's own POST
    assert rows(server) == before + 1


def test_a_foreign_host_is_refused_dns_rebinding(server, good):
    port = server.server_address[1]
    evil = f"evil.example:{port}"
    before = rows(server)
    status, _, body = request(server, "GET", "/", headers={"Host": evil})
    assert status == 421 and b"is not this server" in body
    assert request(server, "GET", "/verdicts", headers={"Host": evil})[0] == 421
    assert request(server, "GET", "/static/keys.js", headers={"Host": evil})[0] == 421
    assert request(server, "GET", "/", headers={"Host": None})[0] == 400  # no Host at all
    status = post(
        server, good, Host=evil, Origin=f"http://{evil}", **{"X-Reelcat-Token": server.csrf_token}
    )
    assert status == 421
    assert rows(server) == before
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        assert request(server, "GET", "/", headers={"Host": host})[0] == 200, host
    assert request(server, "GET", "/", headers={"Host": f"localhost:{port + 1}"})[0] == 421


def test_a_post_needs_the_csrf_token(server, good):
    before = rows(server)
    assert post(server, good, Origin=server.url) == 403
    assert post(server, good, Origin=server.url, **{"X-Reelcat-Token": "x" * 43}) == 403
    assert post(server, good, Origin=server.url, **{"X-Reelcat-Token": "é"}) == 403
    with_field = json.dumps({**json.loads(good), "csrf": "nope"}).encode()
    assert post(server, with_field, Origin=server.url) == 403
    form = {**json.loads(good), "csrf": "nope"}
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": server.url}
    status, _, body = request(
        server, "POST", "/api/answer", body=urlencode(form).encode(), headers=headers
    )
    assert status == 403 and b"CSRF token" in body
    for path in ("/api/undo", "/api/skip"):
        json_headers = {"Content-Type": "application/json", "Origin": server.url}
        assert request(server, "POST", path, body=b"{}", headers=json_headers)[0] == 403
    assert rows(server) == before
    form["csrf"] = server.csrf_token  # the form field, as the page's forms send it
    status, headers, _ = request(
        server, "POST", "/api/answer", body=urlencode(form).encode(), headers=headers
    )
    assert status == 303 and headers["Location"].startswith("/questions?last=")
    assert rows(server) == before + 1


def test_every_page_carries_the_token_in_its_forms_and_meta(server, good):
    video = json.loads(good)["video_id"]
    post(server, good, Origin=server.url, **{"X-Reelcat-Token": server.csrf_token})
    meta = f'<meta name="reelcat-token" content="{server.csrf_token}">'
    field = f'<input type="hidden" name="csrf" value="{server.csrf_token}">'
    for path in ("/", "/questions", "/verdicts", f"/video/{video}"):
        status, _, body = request(server, "GET", path)
        page = body.decode()
        assert status == 200 and meta in page, path
        forms = re.findall(r'<form method="post"[^>]*>(.{0,120})', page)
        assert all(f.startswith(field) for f in forms), (path, forms)
    assert re.findall(r'<form method="post"[^>]*>', request(server, "GET", "/verdicts")[2].decode())
    status, _, body = request(server, "GET", "/nope")  # an error page: no forms, no token
    assert status == 404 and server.csrf_token.encode() not in body


def test_serving_beyond_loopback_needs_expose(tmp_path):
    for host in ("0.0.0.0", "192.0.2.1", "::"):
        code, stdout, stderr = run_cli("serve", "--host", host, "--out", str(tmp_path))
        assert code == 2, (host, stdout, stderr)
        assert stderr.count("\n") == 1 and "--expose" in stderr, stderr
        assert stderr.startswith(f"reelcat: --host {host} would serve the review page")
    code, stdout, _ = run_cli("serve", "--help")
    assert code == 0 and "--expose" in stdout and "--allow-host" in stdout


def test_an_exposed_server_asks_every_request_for_the_access_token(cfg, good):
    """Bound to 0.0.0.0 for real (port 0), reached through 127.0.0.1."""
    with running(cfg, host="0.0.0.0", expose=True, allow_hosts=["reviews.lan"]) as srv:
        port, token = srv.server_address[1], srv.access_token
        own = {"Origin": f"http://127.0.0.1:{port}", "X-Reelcat-Token": srv.csrf_token}
        before = rows(srv)
        status, headers, _ = request(srv, "GET", "/")
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
        assert request(srv, "GET", "/?token=wrong")[0] == 401
        assert request(srv, "GET", "/static/keys.js")[0] == 401
        assert request(srv, "GET", "/", headers={"Authorization": "Bearer wrong"})[0] == 401
        assert post(srv, good, **own) == 401  # the page's Origin and CSRF token are not enough
        assert post(srv, good, Cookie="reelcat_access=wrong", **own) == 401
        assert (
            request(
                srv,
                "POST",
                f"/api/answer?token={token}",
                body=good,
                headers={"Content-Type": "application/json", **own},
            )[0]
            == 401
        )  # ?token= only on a visit, never on a POST
        assert rows(srv) == before

        # the first visit with ?token= sets the cookie and drops the token from the address
        status, headers, _ = request(srv, "GET", f"/verdicts?tag=beach&token={token}")
        assert status == 303 and headers["Location"] == "/verdicts?tag=beach"
        cookie = headers["Set-Cookie"]
        assert cookie.startswith(f"reelcat_access={token};")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        with_cookie = {"Cookie": f"theme=dark; reelcat_access={token}"}
        assert request(srv, "GET", "/", headers=with_cookie)[0] == 200
        bearer = {"Authorization": f"Bearer {token}"}
        assert request(srv, "GET", "/", headers=bearer)[0] == 200
        # any IP address names a server bound to 0.0.0.0, and so does --allow-host
        for host in (f"192.0.2.7:{port}", f"[::1]:{port}", f"reviews.lan:{port}"):
            assert request(srv, "GET", "/", headers={"Host": host, **bearer})[0] == 200, host
        assert (
            request(srv, "GET", "/", headers={"Host": f"evil.example:{port}", **bearer})[0] == 421
        )
        # a POST needs the access token and still the page's Origin and CSRF token
        assert post(srv, good, **bearer, Origin=own["Origin"]) == 403
        assert rows(srv) == before
        assert post(srv, good, **with_cookie, **own) == 200
        assert post(srv, good, **bearer, **own) == 200
        assert rows(srv) == before + 2
    with running(cfg) as srv:  # not exposed: no token asked, no other address answered
        assert srv.access_token is None
        assert request(srv, "GET", "/")[0] == 200
        port = srv.server_address[1]
        assert request(srv, "GET", "/", headers={"Host": f"192.0.2.7:{port}"})[0] == 421


def test_serve_expose_warns_and_prints_the_token(cfg):
    """`reelcat serve --host 0.0.0.0 --expose` as a person runs it: a warning naming the
    address on stderr, the address with its token on stdout, and that token works."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "serve", "--out", str(cfg.output_dir)]
        + ["--host", "0.0.0.0", "--port", "0", "--expose"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        assert ready, "no address printed in 120 s"
        line = proc.stdout.readline()
        m = re.search(r"http://<this machine's address>:(\d+)/\?token=(\S+)", line)
        assert m, (line, proc.poll())
        port, token = int(m[1]), m[2]
        con = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        con.request("GET", "/", headers={"Authorization": f"Bearer {token}"})
        assert con.getresponse().status == 200
        con.close()
        con = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        con.request("GET", "/")
        assert con.getresponse().status == 401
        con.close()
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    assert f"WARNING: serving the review page to the network on 0.0.0.0:{port}" in stderr
