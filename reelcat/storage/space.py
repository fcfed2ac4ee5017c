"""A full disk said in one line: which folder, how much it has, about how much is needed.

Writers remove their temporary files when a write fails (every file is written under a
temporary name and renamed when complete), so what was there before is unchanged.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path


def is_out_of_space(exc: BaseException) -> bool:
    """ENOSPC, from Python or as DuckDB words it."""
    return getattr(exc, "errno", None) == errno.ENOSPC or "No space left on device" in str(exc)


class OutOfSpace(OSError):
    def __init__(self, folder: Path, needed_bytes: int, what: str):
        free = shutil.disk_usage(folder).free if Path(folder).exists() else 0
        super().__init__(
            errno.ENOSPC,
            f"out of space in {folder} writing {what}: {free / 2**20:.1f} MB free, about "
            f"{needed_bytes / 2**20:.1f} MB needed; the temporary files were removed and "
            "the previous files are unchanged",
        )

    def __str__(self) -> str:
        return self.strerror
