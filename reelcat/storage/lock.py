"""One writer per output folder at a time: an exclusive lock on its lock file.

A run (every step of it, in one process or several) holds the lock while it writes; a
second run on the same folder waits, saying who holds it, and goes on when that run ends
(it then finds the work done: videos already embedded are not decoded again). The lock is
the operating system's (flock): a killed run releases it. Readers (the catalogue, the
review page, `reelcat sql`) never take it.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from reelcat.storage.layout import Layout

SAY_EVERY_SECONDS = 60.0


class OutputLock:
    def __init__(self, out: str | Path, holder: str):
        self.path = Layout(out).lock
        self.holder = holder  # who we are, e.g. "run 1a2b3c4d"
        self._file = None

    def acquire(self, say: Callable[[str], None] = print, poll: float = 0.5) -> None:
        """Take the lock, waiting for another holder (saying so, then every minute)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+")  # noqa: SIM115 (held open for the lock's lifetime)
        said = None
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                f.seek(0)
                other = f.read().strip() or "another reelcat process"
                if not other.endswith(f"({self.holder})") and (
                    said is None or time.monotonic() - said >= SAY_EVERY_SECONDS
                ):
                    say(f"reelcat: {self.path.parent} is being written by {other}; waiting")
                    said = time.monotonic()
                time.sleep(poll)
        f.seek(0)
        f.truncate()
        f.write(
            f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC ({self.holder})"
        )
        f.flush()
        self._file = f

    def release(self) -> None:
        if self._file is not None:
            self._file.truncate(0)
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
