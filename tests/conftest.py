"""Shared fixtures: real videos made by ffmpeg, bad files, the bundled tiny model, and
the two catalogued archives (each materialised once per test session; a test that
changes a catalogue works on its own copy, `copy_of`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from reelcat.config import Config, load_config
from reelcat.tools import _resolve, ffmpeg_path, ffprobe_path

REPO = Path(__file__).resolve().parents[1]

# Every ffmpeg and ffprobe that reelcat starts during the tests, in this process or a Ray
# worker, goes through a pass-through script that logs the call: tests count real decodes
# and probes. It is set before Ray starts so that workers inherit it.
_SPY_DIR = Path(tempfile.mkdtemp(prefix="reelcat-ffmpeg-spy-"))
FFMPEG_LOG = _SPY_DIR / "calls.log"
FFPROBE_LOG = _SPY_DIR / "probes.log"
for _name, _log, _var in (
    ("ffmpeg", FFMPEG_LOG, "REELCAT_FFMPEG"),
    ("ffprobe", FFPROBE_LOG, "REELCAT_FFPROBE"),
):
    _spy = _SPY_DIR / _name
    _spy.write_text(f'#!/bin/sh\necho "$*" >> {_log}\nexec {_resolve(_name, "_NO_ENV_")} "$@"\n')
    _spy.chmod(0o755)
    _log.touch()
    os.environ[_var] = str(_spy)
# Ray in the tests listens on loopback only (Ray otherwise binds the machine's own
# address), and the throwaway clusters skip token authentication.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["RAY_AUTH_MODE"] = "disabled"
ffmpeg_path.cache_clear()
ffprobe_path.cache_clear()
# The CLIP actors' trace cache (reelcat.ingest.encoder) of this test session: nothing from an
# earlier run, nothing left in the user's cache folder. Also set before Ray starts.
os.environ["REELCAT_CACHE"] = tempfile.mkdtemp(prefix="reelcat-cache-")


def ffmpeg_calls() -> int:
    """How many ffmpeg processes reelcat has started so far in this test session."""
    return len(FFMPEG_LOG.read_text().splitlines())


def ffprobe_calls() -> list[str]:
    """The ffprobe command lines reelcat has run so far in this test session."""
    return FFPROBE_LOG.read_text().splitlines()


def lavfi_video(
    path: Path,
    source: str,
    *,
    duration: float,
    rate: int = 25,
    size: str = "320x240",
    gop: int | None = None,
    extra: list[str] | None = None,
) -> Path:
    """Encode an ffmpeg test source (testsrc2, color=...) into a real video file."""
    codec = (
        ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"]
        if path.suffix == ".webm"
        else ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    )
    if gop:
        codec += ["-g", str(gop)]
    subprocess.run(
        [
            ffmpeg_path(),
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"{source}{':' if '=' in source else '='}size={size}:rate={rate}:duration={duration}",
            *codec,
            *(extra or []),
            str(path),
        ],
        check=True,
    )
    return path


@pytest.fixture(scope="session")
def small_archive(tmp_path_factory) -> Path:
    """Three good videos (H.264 mp4, VP9 webm, a subfolder) and three bad files."""
    root = tmp_path_factory.mktemp("archive")
    lavfi_video(root / "testsrc.mp4", "testsrc2", duration=9, gop=25)
    lavfi_video(root / "red.webm", "color=c=red", duration=6, rate=15)
    (root / "sub").mkdir()
    lavfi_video(root / "sub" / "bars.mp4", "smptebars", duration=5, gop=50)
    (root / "empty.mp4").write_bytes(b"")
    (root / "notes.mp4").write_text("this is a text file, not a video\n")
    good = (root / "testsrc.mp4").read_bytes()
    (root / "truncated.mp4").write_bytes(good[: len(good) // 3])
    (root / "readme.txt").write_text("not a video suffix: ignored")
    return root


def tiny_config(archive: Path, out: Path, **overrides) -> Config:
    """The bundled offline model and synthetic vocabulary, pointed at an archive."""
    doc = {"archive_roots": [str(archive)], "output_dir": str(out)}
    doc.update(overrides)
    return load_config(REPO / "reelcat.yaml", overrides=doc, environ={})


@pytest.fixture(scope="session")
def ray_local():
    """One embedded Ray for the test session (several seconds to start on 2 cores)."""
    import ray

    # address="local": always a fresh embedded Ray, never a cluster that another test (or
    # anything else on this machine) left running, which a bare ray.init() would join
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def scripted_archive(tmp_path_factory) -> Path:
    """Synthetic videos with known shots (320x180, 10 fps) plus an audio-only and a black file."""
    from reelcat.synthetic.archive import Shot, make_video

    root = tmp_path_factory.mktemp("scripted")
    videos = {
        "beach_fire.mp4": [
            Shot("beach", 12),
            Shot("fire", 2, cutaway=True),
            Shot("beach", 9),
            Shot("forest", 7),
        ],
        "blood.mp4": [Shot("kitchen", 6), Shot("blood", 6), Shot("kitchen", 6)],
        "spike.mp4": [
            Shot("snow field", 8),
            Shot("blood", 0.4, cutaway=True),
            Shot("snow field", 7.6),
        ],
        "city.mp4": [Shot("city at night", 10), Shot("road with cars", 10)],
        "sky_snow.mp4": [Shot("sky with clouds", 10), Shot("snow field", 10)],
    }
    for i, (name, shots) in enumerate(videos.items()):
        make_video(root / name, shots, size=(320, 180), fps=10, seed=i)
    subprocess.run(
        [
            ffmpeg_path(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=2",
            "-c:a",
            "aac",
            str(root / "audio_only.mp4"),
        ],
        check=True,
    )
    lavfi_video(root / "black.mp4", "color=c=black", duration=5, rate=10)
    return root


def materialize(archive: Path, out: Path, **settings):
    """Materialise the whole asset graph with Dagster over `archive` into `out`."""
    import dagster as dg

    from assets.resources import RayResource, ReelcatSettings
    from orchestration.definitions import ALL_ASSETS

    result = dg.materialize(
        ALL_ASSETS,
        resources={
            "settings": ReelcatSettings(
                config_file=str(REPO / "reelcat.yaml"),
                archive_roots=[str(archive)],
                output_dir=str(out),
                **settings,
            ),
            "ray_cluster": RayResource(),
        },
    )
    assert result.success
    return result


def run_cli(*args: str, input: str | None = None) -> tuple[int, str, str]:
    """`reelcat ARGS` in its own process, as a person runs it: (exit code, out, err)."""
    proc = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        input=input,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc.returncode, proc.stdout, proc.stderr


def copy_of(out: Path, tmp_path: Path) -> Path:
    """A private copy of a catalogued output folder, for a test that changes it."""
    work = tmp_path / "out"
    shutil.copytree(out, work)
    return work


def store(out: Path):
    """The store's base views (reelcat.storage.views) for a catalogue made by the tests."""
    from reelcat.tagging.scores import open_archive

    return open_archive(tiny_config(out, out))


@pytest.fixture(scope="session")
def catalogued(small_archive, tmp_path_factory, ray_local) -> tuple[Path, int]:
    """The small archive catalogued once, on the local Ray (not in-process, as so small an
    increment would be: it is the reference the cluster and in-process runs must equal):
    (output folder, ffmpeg calls it took)."""
    out = tmp_path_factory.mktemp("out")
    before = ffmpeg_calls()
    os.environ["REELCAT_RAY_IN_PROCESS_FRAMES"] = "0"
    try:
        result = materialize(small_archive, out)
    finally:
        del os.environ["REELCAT_RAY_IN_PROCESS_FRAMES"]
    (frames,) = result.asset_materializations_for_node("video_frames")
    assert frames.metadata["embedded_on"].value == "ray"
    return out, ffmpeg_calls() - before


@pytest.fixture(scope="session")
def out(scripted_archive, tmp_path_factory, ray_local) -> Path:
    """The scripted archive catalogued once (read-only for tests: copy it to change it)."""
    out = tmp_path_factory.mktemp("scripted_out")
    materialize(scripted_archive, out)
    return out
