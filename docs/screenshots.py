"""Redraw the README's screenshots (docs/*.png) from this checkout: `make screenshots`.

Run it where `make run` has catalogued the sample archive (sample_archive/ and out/; the
make target runs it first). It starts everything it shows on free ports of 127.0.0.1 and
stops it again, whatever happens, and drives a headless Chromium (/usr/bin/chromium,
`make browser`) with Playwright (the dev extra):

  * the review page (`reelcat serve` over out/): the archive page with its heat map,
    filters and thumbnails (review-archive.png); a video page after a click on one of its
    timeline bars, once the player has sought there (review-video.png); the search page
    for "beach" (review-search.png);
  * the Dagster UI (`dagster dev -w workspace.yaml`, with a throwaway DAGSTER_HOME holding
    deploy/dagster.local.yaml and a fresh, empty output folder in REELCAT_OUTPUT_DIR, so
    the run really makes everything): "Materialize all" clicked on the asset graph, the
    run followed through Dagster's GraphQL API until it ends, then the asset graph
    (dagster-assets.png), the Checks tab of video_frames (dagster-checks.png) and the
    run's asset-check results (dagster-run.png). It prints every check's status and
    fails (exit 1) when the run fails or a check did not pass.

About 2-3 minutes on a 2-core laptop, most of it the Dagster run. Each PNG is about
1280 px wide and kept under 300 KB (fewer colours, then smaller, when it is not).

    .venv/bin/python docs/screenshots.py [--only review|dagster] [--out DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the virtual environment's bin (reelcat, dagster)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [  # as tests/test_review_page.py launches it
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTH = 1280
MAX_BYTES = 300_000
VIDEO = "v011_beach.mp4"  # beach, flower field, weapon, ... on its timelines
TAG = "beach"  # the timeline bar clicked, and the search
CHECKED_ASSET = "video_frames"  # whose Checks tab is shown
RUN_TIMEOUT_S = 900


class Failed(Exception):
    """A step that did not work; the message says which and why."""


def say(message: str) -> None:
    print(f"screenshots: {message}", flush=True)


# -- processes -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, start time) of a live process, from /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), fields[19]


def _descendants(root: int) -> dict[int, str]:
    """Every live process below `root` (pid: start time), found by parent links."""
    children: dict[int, list[int]] = {}
    started: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))):
            children.setdefault(st[0], []).append(int(entry.name))
            started[int(entry.name)] = st[1]
    found, todo = {}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = started[child]
            todo.append(child)
    return found


class Service:
    """A command in a session of its own, its output in a log file. `stop` ends the
    session's process group and every process it started (even one that left the group,
    as Ray's may): SIGINT first, as Ctrl-C in a terminal would (`dagster dev` shuts its
    webserver, daemon and code servers down on it; SIGTERM is the same signal to it), then
    SIGKILL for what is left after `grace` seconds."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logs: Path):
        self.name = name
        self.log_path = logs / f"{name}.log"
        self._log = open(self.log_path, "wb")
        say(f"starting {name}: {' '.join(argv)}")
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._known: dict[int, str] = {}

    def remember_children(self) -> None:
        """Note the processes below this one now (they are killed by `stop` too)."""
        self._known.update(_descendants(self.proc.pid))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        for pid, start in self._known.items():
            st = _stat(pid)
            if st and st[1] == start:  # the same process, not a reused pid
                try:
                    os.kill(pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass

    def _left(self) -> bool:
        try:
            os.killpg(self.proc.pid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            pass
        return any((st := _stat(p)) and st[1] == s for p, s in self._known.items())

    def stop(self, grace: float = 30.0) -> None:
        if self.alive():
            self.remember_children()
        self._signal(signal.SIGINT)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            self.proc.poll()
            if not self._left():
                break
            time.sleep(0.3)
        else:
            say(f"{self.name} still running after {grace:.0f} s: killing it")
            self._signal(signal.SIGKILL)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()


@contextmanager
def service(name: str, argv: list[str], env: dict[str, str], logs: Path):
    svc = Service(name, argv, env, logs)
    try:
        yield svc
    finally:
        svc.stop()


def wait_until(what: str, ready: Callable[[], bool], timeout: float, svc: Service) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not svc.alive():
            raise Failed(f"{svc.name} exited ({svc.proc.returncode}):\n{svc.log_tail()}")
        try:
            if ready():
                return
        except (OSError, urllib.error.URLError, ValueError):
            pass  # not answering yet
        time.sleep(0.5)
    raise Failed(f"{what}: not after {timeout:.0f} s\n{svc.log_tail()}")


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status == 200


def base_env() -> dict[str, str]:
    """This environment, with this checkout first on the import path (a clone that shares
    another checkout's editable virtual environment still runs its own code)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("REELCAT_CONFIG", None)  # the checkout's reelcat.yaml: sample_archive, out/
    return env


# -- pictures ------------------------------------------------------------------------


def save_png(data: bytes, path: Path, limit: int = MAX_BYTES) -> None:
    """Write a screenshot as PNG under `limit` bytes: as taken, else in 256 colours, else
    smaller until it fits."""
    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    if image.width > WIDTH:
        image = image.resize(
            (WIDTH, round(image.height * WIDTH / image.width)), Image.Resampling.LANCZOS
        )

    def encoded(img) -> bytes:
        buf = io.BytesIO()
        img.save(buf, "PNG", optimize=True)
        return buf.getvalue()

    out = encoded(image)
    scale = 1.0
    while len(out) > limit:
        smaller = image
        if scale < 1.0:
            size = (round(image.width * scale), round(image.height * scale))
            smaller = image.resize(size, Image.Resampling.LANCZOS)
        out = encoded(smaller.quantize(256, method=Image.Quantize.MEDIANCUT))
        scale *= 0.9
    path.write_bytes(out)
    with Image.open(path) as img:
        say(
            f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
            f"({img.width}x{img.height}, {len(out) // 1000} KB)"
        )


def shoot(page, path: Path, *, top: float = 0, bottom: float | None = None) -> None:
    """The page from `top` to `bottom` (CSS pixels of the document; the viewport's
    height when not given), the page's full width."""
    height = (bottom if bottom is not None else page.viewport_size["height"]) - top
    clip = {"x": 0, "y": top, "width": page.viewport_size["width"], "height": height}
    save_png(page.screenshot(clip=clip, full_page=bottom is not None), path)


def bottom_of(page, selector: str, index: int = -1, margin: int = 24) -> float:
    """The document y just below the element `index` of those matching `selector` (CSS),
    plus `margin`."""
    return page.evaluate(
        """([sel, index, margin]) => { const els = document.querySelectorAll(sel);
          const r = els[index < 0 ? els.length + index : index].getBoundingClientRect();
          return r.bottom + window.scrollY + margin }""",
        [selector, index, margin],
    )


# Functions, never expressions: Playwright evaluates an expression with eval, which the
# review page's Content-Security-Policy refuses.
EAGER_IMAGES = (
    "() => document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')"
)
IMAGES_SHOWN = """sel => Array.from(document.querySelectorAll(sel)).every(
  i => i.complete && i.naturalWidth > 0)"""
AT_MOMENT = """t => { const p = document.querySelector('#player');
  return p.readyState >= 2 && p.currentTime >= t - 0.05 && p.currentTime < t + 1.5 }"""


def load_images(page, selector: str = "main img") -> None:
    page.evaluate(EAGER_IMAGES)
    page.wait_for_function(IMAGES_SHOWN, arg=selector, timeout=120_000)


# -- the review page -----------------------------------------------------------------


def review_shots(browser, docs: Path, logs: Path, stack: ExitStack) -> None:
    if not (ROOT / "out" / "catalog.duckdb").exists():
        raise Failed("no catalogue in out/: run `make run` first")
    port = free_port()
    argv = [str(BIN / "reelcat"), "serve", "--port", str(port)]
    srv = stack.enter_context(service("reelcat-serve", argv, base_env(), logs))
    base = f"http://127.0.0.1:{port}"
    wait_until("the review page", lambda: http_ok(base + "/"), 60, srv)
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    try:
        # the archive: heat map, filters, and the review queue with its thumbnails
        page.goto(base + "/")
        load_images(page)
        shoot(page, docs / "review-archive.png", bottom=bottom_of(page, "table.queue", 0))

        # a video page, after a click on one of its timeline bars: the player is there
        link = page.get_by_role("link", name=VIDEO, exact=True)
        if not link.count():
            say(f"no {VIDEO} in out/: showing the riskiest video instead")
            link = page.locator("table.queue a[href^='/video/']")
        page.goto(base + link.first.get_attribute("href"))
        page.wait_for_function("() => document.querySelector('#player').readyState >= 1")
        bars = [
            bar
            for selector in (f'#timelines [data-tag="{TAG}"]', "#timelines [data-tag]")
            for bar in page.locator(f"{selector} a[data-seek]").all()
            if float(bar.get_attribute("data-seek")) > 0
        ]
        if not bars:
            raise Failed(f"no timeline bar after 0:00 on {page.url}")
        t = float(bars[0].get_attribute("data-seek"))
        bars[0].click()
        page.wait_for_function(AT_MOMENT, arg=t, timeout=30_000)
        page.evaluate("() => document.querySelector('#player').pause()")
        if not page.url.endswith(f"?t={t:.2f}"):
            raise Failed(f"a click on the bar at {t:.2f} s left the address at {page.url}")
        at = page.evaluate("() => document.querySelector('#player').currentTime")
        say(f"video page: clicked the bar at {t:.2f} s; the player is at {at:.2f} s")
        page.mouse.move(0, 0)
        load_images(page)
        page.wait_for_timeout(500)  # the paused player's frame and controls drawn
        below = ".thumbs" if page.locator(".thumbs").count() else "#timelines"
        shoot(page, docs / "review-video.png", bottom=bottom_of(page, below))

        # the search page: the first three rows of frames like the tag
        page.goto(f"{base}/search?q={TAG}")
        load_images(page)
        hits = page.locator("#hits figure.hit").count()
        if not hits:
            raise Failed(f'the search for "{TAG}" found nothing')
        say(f'search "{TAG}": {hits} frames')
        bottom = bottom_of(page, "#hits figure.hit", min(hits, 9) - 1, margin=10)
        shoot(page, docs / "review-search.png", bottom=bottom)
    finally:
        page.close()


# -- the Dagster UI ------------------------------------------------------------------

GQL_WORKSPACE = """{ workspaceOrError { __typename ... on Workspace { locationEntries {
  name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
GQL_RUNS = "{ runsOrError { __typename ... on Runs { results { runId status } } } }"
GQL_RUN = """query($id: ID!) { runOrError(runId: $id) { __typename
  ... on Run { status stepStats { stepKey status } } } }"""
GQL_CHECKS = """{ assetNodes { assetKey { path } groupName assetChecksOrError { __typename
  ... on AssetChecks { checks { name executionForLatestMaterialization {
    runId status evaluation { success } } } } } } }"""
DONE = ("SUCCESS", "FAILURE", "CANCELED")


def graphql(base: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(base + "/graphql", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        doc = json.load(response)
    if doc.get("errors"):
        raise Failed(f"Dagster's GraphQL said: {doc['errors']}")
    return doc["data"]


def location_loaded(base: str) -> bool:
    entries = graphql(base, GQL_WORKSPACE)["workspaceOrError"].get("locationEntries", [])
    for entry in entries:
        loaded = entry["locationOrLoadError"] or {}
        if loaded.get("__typename") == "PythonError":
            raise Failed(f"the code location does not load:\n{loaded['message']}")
    return bool(entries) and all(
        (e["locationOrLoadError"] or {}).get("__typename") == "RepositoryLocation" for e in entries
    )


def run_ids(base: str) -> set[str]:
    return {r["runId"] for r in graphql(base, GQL_RUNS)["runsOrError"].get("results", [])}


def dismiss_welcome(page) -> None:
    """Dagster's "Join the Dagster community" dialog, shown once by a new instance."""
    skip = page.get_by_role("button", name="Skip", exact=True)
    try:
        skip.wait_for(state="visible", timeout=10_000)
    except Exception:  # Playwright's TimeoutError: no dialog
        return
    skip.click()
    skip.wait_for(state="hidden", timeout=10_000)


def follow_run(base: str, run_id: str, dg: Service, timeout: float) -> str:
    """Poll the run until it ends; its final status."""
    start, said = time.monotonic(), ""
    while True:
        run = graphql(base, GQL_RUN, {"id": run_id})["runOrError"]
        steps = run.get("stepStats") or []
        done = sum(s["status"] == "SUCCESS" for s in steps)
        line = f"run {run_id[:8]}: {run['status']}, {done} of {len(steps)} steps done"
        if line != said:
            say(f"{line} ({time.monotonic() - start:.0f} s)")
            said = line
        if run["status"] in DONE:
            return run["status"]
        if time.monotonic() - start > timeout:
            raise Failed(f"run {run_id} not done after {timeout:.0f} s: {base}/runs/{run_id}")
        if not dg.alive():
            raise Failed(f"dagster dev exited during the run:\n{dg.log_tail()}")
        dg.remember_children()  # a run's Ray, should it leave the process group
        time.sleep(2)


def check_results(base: str, run_id: str) -> tuple[list[tuple[str, str, str, bool]], list[str]]:
    """(asset, check, status, passed in this run) for every asset check; the groups."""
    rows, groups = [], set()
    for node in graphql(base, GQL_CHECKS)["assetNodes"]:
        asset = "/".join(node["assetKey"]["path"])
        groups.add(node["groupName"])
        for check in (node["assetChecksOrError"] or {}).get("checks", []):
            ex = check["executionForLatestMaterialization"] or {}
            passed = bool(
                ex.get("runId") == run_id
                and ex.get("status") == "SUCCEEDED"
                and (ex.get("evaluation") or {}).get("success")
            )
            rows.append((asset, check["name"], ex.get("status") or "never run", passed))
    return sorted(rows), sorted(groups)


def hide_navigation(page) -> None:
    hide = page.get_by_text("Hide navigation", exact=True)
    if hide.count() and hide.first.is_visible():
        hide.first.click()


def _graph_box(page) -> dict | None:
    """The box around the graph's nodes and groups (their SVG foreignObjects)."""
    return page.evaluate(
        """() => { const rs = Array.from(document.querySelectorAll('svg foreignObject'))
            .map(e => e.getBoundingClientRect()).filter(r => r.width > 0 && r.height > 0);
          if (!rs.length) return null;
          const x = Math.min(...rs.map(r => r.left)), y = Math.min(...rs.map(r => r.top));
          return {x, y, width: Math.max(...rs.map(r => r.right)) - x,
                  height: Math.max(...rs.map(r => r.bottom)) - y} }"""
    )


def fit_graph(page) -> None:
    """Zoom the asset graph in until it nearly fills the canvas, and centre it there (the
    canvas: the graph's panel below the toolbar, left of the zoom buttons)."""
    panel = page.evaluate(
        """() => { const fo = document.querySelector('svg foreignObject');
          const panel = fo && fo.closest('[class*=splitPanel]');
          if (!panel) return null;
          const r = panel.getBoundingClientRect();
          return {x: r.x, y: r.y, width: r.width, height: r.height} }"""
    )
    if panel is None:
        raise Failed("no graph panel")
    controls = sorted(
        (
            b
            for b in page.locator("button").all()
            if (box := b.bounding_box()) and box["x"] > WIDTH - 60 and box["y"] > 200
        ),
        key=lambda b: b.bounding_box()["y"],
    )
    toolbar = page.get_by_role("button", name=re.compile("Materialize all")).bounding_box()
    left, top = panel["x"] + 8, toolbar["y"] + toolbar["height"] + 12
    right = controls[0].bounding_box()["x"] - 8
    bottom = min(panel["y"] + panel["height"], page.viewport_size["height"]) - 8
    for _ in range(12):
        box = _graph_box(page)
        if box["width"] * 1.125 > (right - left) * 0.97 or box["height"] * 1.125 > bottom - top:
            break
        controls[0].click()  # zoom in
        page.wait_for_timeout(400)
    box = _graph_box(page)
    dx = (left + right) / 2 - (box["x"] + box["width"] / 2)
    dy = (top + bottom) / 2 - (box["y"] + box["height"] / 2)
    page.mouse.move(left + 4, bottom - 4)  # an empty corner of the canvas: drag it
    page.mouse.down()
    page.mouse.move(left + 4 + dx / 2, bottom - 4 + dy / 2, steps=5)
    page.mouse.move(left + 4 + dx, bottom - 4 + dy, steps=5)
    page.mouse.up()
    page.mouse.move(WIDTH / 2, 10)
    page.wait_for_timeout(500)


def graph_shot(ctx, base: str, groups: list[str], path: Path) -> None:
    """The global asset graph: every group open, top to bottom, filling the picture."""
    page = ctx.new_page()
    page.set_viewport_size({"width": WIDTH, "height": 760})
    try:
        page.goto(base + "/asset-groups")
        # the UI's own settings (this browser context only): groups open, the graph top
        # to bottom, the navigation folded
        page.evaluate(
            """groups => {
              localStorage.setItem('asset-graph-open-graph-nodes-global-__GLOBAL__',
                JSON.stringify({expanded: groups.map(g => 'global@global:' + g).join(',')}));
              localStorage.setItem('asset-graph-direction', '"vertical"');
              localStorage.setItem('dagster-nav-collapsed', 'true'); }""",
            groups,
        )
        page.reload()
        node = page.get_by_text(CHECKED_ASSET, exact=True).first
        try:
            node.wait_for(state="visible", timeout=15_000)
        except Exception:  # the settings' keys changed: the menu's shortcut instead
            page.keyboard.press("Alt+e")  # "Expand all groups"
            node.wait_for(state="visible", timeout=15_000)
        hide_navigation(page)
        jump = page.get_by_placeholder(re.compile("Jump to"))
        if jump.count():  # fold the asset tree: the button beside its "Jump to…" box
            box = jump.bounding_box()
            page.mouse.click(box["x"] + box["width"] + 22, box["y"] + box["height"] / 2)
            page.wait_for_timeout(500)
        try:
            fit_graph(page)
        except Exception as exc:  # the picture as the UI laid it out
            say(f"could not fit the asset graph to the picture ({exc}); shown as laid out")
        shoot(page, path)
    finally:
        page.close()


def checks_shot(ctx, base: str, path: Path) -> None:
    """The Checks tab of CHECKED_ASSET: its check, passed, with its metadata."""
    page = ctx.new_page()
    page.set_viewport_size({"width": WIDTH, "height": 720})
    try:
        page.goto(f"{base}/assets/{CHECKED_ASSET}?view=checks")
        page.get_by_text("Passed", exact=True).first.wait_for(state="visible", timeout=30_000)
        hide_navigation(page)
        page.mouse.move(WIDTH / 2, 700)
        page.wait_for_timeout(1_000)
        shoot(page, path)
    finally:
        page.close()


HIDDEN_ROWS = """sel => { const row = document.querySelector(sel);
  let el = row && row.parentElement;
  while (el && !(el.scrollHeight > el.clientHeight + 1
                 && /(auto|scroll)/.test(getComputedStyle(el).overflowY))) el = el.parentElement;
  return el ? el.scrollHeight - el.clientHeight : 0 }"""


def run_shot(ctx, base: str, run_id: str, checks: int, path: Path) -> None:
    """The run's page, its events filtered to the asset checks' results: all of them, the
    page made taller until none is scrolled out of sight."""
    page = ctx.new_page()
    height = 1400
    page.set_viewport_size({"width": WIDTH, "height": height})
    try:
        page.goto(f"{base}/runs/{run_id}")
        box = page.get_by_placeholder(re.compile("^Filter"))
        box.wait_for(state="visible", timeout=30_000)
        hide_navigation(page)
        divider = page.locator("[class*=verticalHitArea]")  # between the chart and the events
        if divider.count() and (hit := divider.first.bounding_box()):
            y = hit["y"] + hit["height"] / 2
            page.mouse.move(WIDTH / 2, y)
            page.mouse.down()
            page.mouse.move(WIDTH / 2, (y + 330) / 2, steps=5)
            page.mouse.move(WIDTH / 2, 330, steps=5)  # a smaller chart, more events
            page.mouse.up()
        box.click()
        box.type("type:ASSET_CHECK_EVALUATION")
        page.keyboard.press("Enter")
        page.mouse.click(WIDTH / 2, 5)  # out of the box: its suggestions close
        rows = "[data-index]"  # the event list's rows (drawn only where visible)
        page.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel).length >= n",
            arg=[rows, min(checks, 8)],
            timeout=30_000,
        )
        for _ in range(4):
            page.wait_for_timeout(1_000)
            hidden = page.evaluate(HIDDEN_ROWS, rows)
            if hidden <= 0:
                break
            height += hidden + 40
            page.set_viewport_size({"width": WIDTH, "height": height})
        shoot(page, path, bottom=bottom_of(page, rows, margin=12))
    finally:
        page.close()


def dagster_shots(browser, docs: Path, logs: Path, stack: ExitStack, run_timeout: float):
    tmp = Path(
        stack.enter_context(
            tempfile.TemporaryDirectory(prefix="reelcat-screenshots-", ignore_cleanup_errors=True)
        )
    )
    home, out = tmp / "dagster_home", tmp / "out"
    home.mkdir()
    out.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.local.yaml", home / "dagster.yaml")
    env = base_env() | {"DAGSTER_HOME": str(home), "REELCAT_OUTPUT_DIR": str(out)}
    port = free_port()
    argv = [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1"]
    dg = stack.enter_context(service("dagster-dev", argv + ["-p", str(port)], env, logs))
    base = f"http://127.0.0.1:{port}"
    wait_until("Dagster's webserver", lambda: http_ok(base + "/server_info"), 240, dg)
    wait_until("the code location", lambda: location_loaded(base), 240, dg)
    say(f"Dagster UI at {base} (DAGSTER_HOME {home}, output {out})")

    ctx = browser.new_context(viewport={"width": WIDTH, "height": 900})
    stack.callback(ctx.close)
    page = ctx.new_page()
    page.goto(base + "/asset-groups")
    page.get_by_text("Global asset lineage").first.wait_for(timeout=60_000)
    dismiss_welcome(page)  # (while it is open, the page behind it has no buttons to find)
    button = page.get_by_role("button", name=re.compile("Materialize all"))
    button.wait_for(state="visible", timeout=60_000)
    before = run_ids(base)
    say(f'clicking "{button.inner_text().strip()}" on the asset graph')
    button.click()
    deadline = time.monotonic() + 60
    while not (new := run_ids(base) - before):
        if time.monotonic() > deadline:
            shoot(page, logs / "materialize-all.png")
            raise Failed(f'"Materialize all" started no run (see {logs}/materialize-all.png)')
        time.sleep(1)
    run_id = new.pop()
    status = follow_run(base, run_id, dg, run_timeout)
    page.close()
    if status != "SUCCESS":
        raise Failed(f"the run ended {status}: {base}/runs/{run_id}\n{dg.log_tail()}")
    if not (out / "catalog.duckdb").exists():
        raise Failed(f"the run succeeded but wrote no catalogue into {out}")

    rows, groups = check_results(base, run_id)
    say(f"asset checks after run {run_id[:8]}:")
    for asset, name, state, passed in rows:
        print(f"  {asset:20} {name:36} {state:10} {'passed' if passed else 'NOT PASSED'}")
    graph_shot(ctx, base, groups, docs / "dagster-assets.png")
    checks_shot(ctx, base, docs / "dagster-checks.png")
    run_shot(ctx, base, run_id, len(rows), docs / "dagster-run.png")
    failed = [f"{asset}/{name} ({state})" for asset, name, state, passed in rows if not passed]
    if failed or not rows:
        raise Failed(f"asset checks that did not pass: {', '.join(failed) or 'none ran'}")
    say(f"all {len(rows)} asset checks passed")


# -- main ----------------------------------------------------------------------------


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["review", "dagster"], help="one part only")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where the PNGs go")
    parser.add_argument(
        "--run-timeout", type=float, default=RUN_TIMEOUT_S, help="seconds for the Dagster run"
    )
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"screenshots: no Chromium at {CHROMIUM} (`make browser`)", file=sys.stderr)
        return 2
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("screenshots: Playwright is missing (pip install -e '.[dev]')", file=sys.stderr)
        return 2
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C: every service started is stopped.
    # Python's own Ctrl-C handler even when started with SIGINT ignored (`cmd &` in a
    # script): the services would inherit the ignoring, and `dagster dev` would not stop.
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.monotonic()
    logs = Path(tempfile.mkdtemp(prefix="reelcat-screenshots-logs-"))
    parts = {
        "review": lambda browser, stack: review_shots(browser, args.out, logs, stack),
        "dagster": lambda browser, stack: dagster_shots(
            browser, args.out, logs, stack, args.run_timeout
        ),
    }
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            try:
                for name, part in parts.items():
                    if args.only in (None, name):
                        t0 = time.monotonic()
                        with ExitStack() as stack:  # what the part started, stopped
                            part(browser, stack)
                        say(f"{name}: {time.monotonic() - t0:.0f} s")
            finally:
                browser.close()
    except (Failed, PlaywrightError) as exc:  # (a page that did not show what was awaited)
        print(f"screenshots: {exc}\n(logs in {logs})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            f"screenshots: interrupted; what it started is stopped (logs in {logs})",
            file=sys.stderr,
        )
        return 130
    say(f"done in {time.monotonic() - started:.0f} s")
    shutil.rmtree(logs, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
