"""`reelcat run`'s progress on stderr: a live display (rich) on a terminal, plain lines
in a log or a pipe, fed by the run's own Dagster log (RunProgress)."""

from __future__ import annotations

import logging
import re
import sys
import time

EMBED_STEP = "video_frames"  # the step that decodes and embeds, one log line per video
EMBEDDED = re.compile(r"embedded (\d+) frames of ")  # reelcat.ingest.pipeline's line


def clock(seconds: float) -> str:
    """A duration: "42 s" under a minute, else M:SS or H:MM:SS."""
    if seconds < 59.5:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class LineProgress:
    """Progress as plain lines on stderr, where no terminal shows a live display (a log
    file, a pipe, the tests): a line per step forward and per finished stage."""

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def start(self, stage: str, total: int | None = None) -> None:
        """A stage began (said when it moves on or ends)."""

    def step(self, stage: str, done: int, note: str, detail: str | None = None) -> None:
        """The stage moved on to `done` (`detail`: what moved it, a line for the log; None:
        only the count moved, no line)."""
        if detail is not None:
            self.say(f"· {stage:<16} {note}  ({detail})")

    def finish(self, stage: str, ok: bool, note: str) -> None:
        self.say(f"{'✓' if ok else '✗'} {stage:<16} {note}")

    def say(self, text: str) -> None:
        print(f"  {text}", file=sys.stderr, flush=True)


class LiveProgress(LineProgress):
    """Progress drawn live on the terminal (rich, on stderr): a row per stage with a
    spinner while it runs and ✓ or ✗ when it ends, a bar where the stage counts (videos,
    checks: their row stays last); anything said meanwhile is printed above the rows."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn
        from rich.text import Text

        class State(SpinnerColumn):
            def render(self, task):
                return Text("✗", "red") if task.fields["failed"] else super().render(task)

        class Stages(Progress):  # in the order they started, "checks" last
            def get_renderables(self):
                yield self.make_tasks_table(
                    sorted(self.tasks, key=lambda task: task.description == "checks")
                )

        self._progress = Stages(
            State(finished_text=Text("✓", "green")),
            TextColumn("{task.description:<16}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[note]}"),
            console=Console(stderr=True),
        )
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> LiveProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def start(self, stage: str, total: int | None = None) -> None:
        self._tasks[stage] = self._progress.add_task(stage, total=total, note="", failed=False)

    def step(self, stage: str, done: int, note: str, detail: str | None = None) -> None:
        self._progress.update(self._tasks[stage], completed=done, note=note)

    def finish(self, stage: str, ok: bool, note: str) -> None:
        self._progress.update(
            self._tasks[stage], total=1, completed=int(ok), note=note, failed=not ok
        )

    def say(self, text: str) -> None:
        self._progress.console.print(f"  {text}", markup=False, highlight=False)


def progress_display() -> LineProgress:
    """Live progress on a terminal; plain lines where stderr is a file or a pipe."""
    return LiveProgress() if sys.stderr.isatty() else LineProgress()


class RunProgress(logging.Handler):
    """`reelcat run`'s progress, read from the run's own Dagster log: the command adds a
    logger with this handler to its run (runs launched from the Dagster UI never have it),
    which sees every step start and end, the asset checks' results, the steps' warnings,
    and the embedding step's line per video ("embedded N frames of NAME" or "failed
    NAME: …"). Asset steps are stages; the check steps are one stage, "checks"."""

    def __init__(self, display: LineProgress, check_steps: set[str], to_embed) -> None:
        super().__init__(logging.DEBUG)
        self.display = display
        self.check_steps = check_steps
        self.to_embed = to_embed  # () -> how many videos the embedding step will embed
        self.started: dict[str, float] = {}
        self.seconds: dict[str, float] = {}  # each finished stage's duration
        self.total: int | None = None  # videos to embed
        self.videos = self.frames = 0  # embedded so far
        self.passed = self.failed = 0  # asset checks

    def emit(self, record: logging.LogRecord) -> None:
        try:
            meta = getattr(record, "dagster_meta", None) or {}
            event, step = meta.get("dagster_event"), meta.get("step_key")
            if event is None:
                self._message(record.levelno, step, meta)
            elif step in self.check_steps:
                self._check(event)
            elif event.is_step_start:
                self._start(step)
            elif event.is_step_success or event.is_step_failure:
                self._finish(step, ok=event.is_step_success)
        except Exception:
            self.handleError(record)

    def _start(self, stage: str, total: int | None = None) -> None:
        self.started[stage] = time.monotonic()
        if stage == EMBED_STEP:
            try:
                self.total = total = self.to_embed()
            except Exception:  # the bar goes without a total; the step says what is wrong
                total = None
        self.display.start(stage, total)

    def _finish(self, stage: str, ok: bool, said: str = "") -> None:
        self.seconds[stage] = seconds = time.monotonic() - self.started[stage]
        if stage == EMBED_STEP and self.videos:
            said = f"{self._embedded()}, {self.frames / seconds:.1f} frames/s"
        self.display.finish(stage, ok, f"{said} in {seconds:.1f} s".strip())

    def _message(self, level: int, step: str | None, meta: dict) -> None:
        """A step's own line: the embedding step's per-video line moves its stage on; a
        warning is said (a resource's warnings, such as waiting for the output folder's
        lock, are printed by the resource itself)."""
        text = meta.get("orig_message", "")
        if step == EMBED_STEP and level == logging.INFO:
            embedded = EMBEDDED.match(text)
            self.videos += 1
            self.frames += int(embedded.group(1)) if embedded else 0
            self.display.step(EMBED_STEP, self.videos, self._embedding_note(), text)
            if not embedded:
                self.display.say(f"{step}: {text}")
        elif level >= logging.WARNING and meta.get("resource_name") is None:
            self.display.say(f"{step or 'run'}: {text}")

    def _embedded(self) -> str:
        done = f"{self.videos}/{self.total}" if self.total is not None else str(self.videos)
        return f"{done} videos, {self.frames} frames"

    def _embedding_note(self) -> str:
        """Videos done of all, frames, frames per second and the time left."""
        elapsed = max(time.monotonic() - self.started[EMBED_STEP], 1e-6)
        note = f"{self._embedded()}, {self.frames / elapsed:.1f} frames/s"
        if self.total and self.videos < self.total:
            note += f", ETA {clock(elapsed / self.videos * (self.total - self.videos))}"
        return note

    def _check(self, event) -> None:
        """A check step: the first starts the "checks" stage; each result moves it on."""
        if event.is_step_start and "checks" not in self.started:
            self._start("checks", len(self.check_steps))
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            if event.asset_check_evaluation_data.passed:
                self.passed += 1
            else:
                self.failed += 1
        elif event.is_step_failure:  # the check itself broke: no result
            self.failed += 1
        else:
            return
        note = f"{self.passed} passed" + (f", {self.failed} failed" if self.failed else "")
        self.display.step("checks", self.passed + self.failed, note)
        if self.passed + self.failed == len(self.check_steps):
            self._finish("checks", not self.failed, note)
