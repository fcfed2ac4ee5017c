"""ffmpeg sampling: real timestamps per mode, chunking, and preprocessing parity."""

from __future__ import annotations

import io
import json
import subprocess

import numpy as np
import pytest
from PIL import Image

from reelcat.ingest.frames import Chunk, decode_chunk, plan_chunks
from reelcat.tools import ffmpeg_path, ffprobe_path

from .conftest import lavfi_video


@pytest.fixture(scope="module")
def gop_video(tmp_path_factory):
    """12 s at 25 fps with a keyframe every 2 s: keyframes and interval sampling differ."""
    return lavfi_video(
        tmp_path_factory.mktemp("v") / "gop.mp4", "testsrc2", duration=12, size="640x360", gop=50
    )


def ffprobe_times(path, keyframes_only=False) -> list[float]:
    cmd = [
        ffprobe_path(),
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "frame=pts_time",
        "-of",
        "json",
    ]
    if keyframes_only:
        cmd[1:1] = ["-skip_frame", "nokey"]
    out = subprocess.run([*cmd, str(path)], capture_output=True, check=True).stdout
    return [float(f["pts_time"]) for f in json.loads(out)["frames"]]


def decode(path, mode, interval=2.0, start=0.0, duration=600.0, size=64):
    return decode_chunk(
        Chunk("v", str(path), start, duration, 0), mode=mode, interval_seconds=interval, size=size
    )


def test_interval_mode_takes_the_first_frame_of_every_bin(gop_video):
    frames = decode(gop_video, "interval", interval=1.5)
    all_times = ffprobe_times(gop_video)
    expected = [min(t for t in all_times if t >= b * 1.5) for b in range(8)]
    assert frames.times.tolist() == pytest.approx(expected, abs=1e-3)
    assert frames.pixels.shape == (8, 64, 64, 3)


def test_keyframes_mode_returns_real_keyframe_timestamps(gop_video):
    frames = decode(gop_video, "keyframes", interval=2.0)
    assert frames.times.tolist() == pytest.approx(ffprobe_times(gop_video, True), abs=1e-3)
    assert frames.times.tolist() == pytest.approx([0, 2, 4, 6, 8, 10], abs=1e-3)


def test_auto_falls_back_to_interval_when_keyframes_are_sparse(gop_video):
    assert len(decode(gop_video, "auto", interval=2.0).times) == 6  # keyframes suffice
    all_times = ffprobe_times(gop_video)
    expected = [min(t for t in all_times if t >= b * 0.5) for b in range(24)]
    assert decode(gop_video, "auto", interval=0.5).times.tolist() == pytest.approx(
        expected, abs=1e-3
    )


def test_scene_mode_keeps_first_frame_and_timestamps_are_real_frames(gop_video):
    frames = decode(gop_video, "scene", interval=2.0)
    real = set(round(t, 3) for t in ffprobe_times(gop_video))
    assert frames.times[0] == 0.0
    assert all(round(t, 3) in real for t in frames.times)
    assert np.all(np.diff(frames.times) <= 8.0 + 1e-6)  # at least one frame per 4 bins


def test_chunks_cover_the_video_and_give_the_same_frames(gop_video):
    chunks = plan_chunks("v", str(gop_video), 12.0, chunk_seconds=5.0, interval_seconds=2.0)
    assert [(c.start, c.duration) for c in chunks] == [(0, 4.0), (4.0, 4.0), (8.0, 4.0)]
    pieces = [decode_chunk(c, mode="interval", interval_seconds=2.0, size=64) for c in chunks]
    whole = decode(gop_video, "interval")
    assert np.concatenate([p.times for p in pieces]).tolist() == pytest.approx(
        whole.times.tolist(), abs=1e-3
    )


def test_thumbnails_are_small_jpegs_at_the_requested_width(gop_video):
    frames = decode_chunk(
        Chunk("v", str(gop_video), 0, 4, 0),
        mode="interval",
        interval_seconds=2.0,
        size=64,
        thumbnail_width=160,
    )
    img = Image.open(io.BytesIO(frames.thumbnails[0]))
    assert img.format == "JPEG" and img.size == (160, 90)


def test_ffmpeg_preprocessing_matches_open_clip_transform(gop_video):
    """Embeddings of ffmpeg-scaled frames vs open_clip's own preprocess of full frames."""
    from reelcat.config import load_config
    from reelcat.tagging.model import ClipModel

    from .conftest import REPO

    model = ClipModel(load_config(REPO / "reelcat.yaml", environ={}).model)
    frames = decode(gop_video, "interval", interval=2.0, size=model.image_size)
    sims = []
    for t, pixels in zip(frames.times, frames.pixels, strict=True):
        png = subprocess.run(
            [
                ffmpeg_path(),
                "-v",
                "error",
                "-ss",
                f"{t:.3f}",
                "-i",
                str(gop_video),
                "-frames:v",
                "1",
                "-f",
                "image2pipe",
                "-c:v",
                "png",
                "-",
            ],
            capture_output=True,
            check=True,
        ).stdout
        reference = model.preprocess(Image.open(io.BytesIO(png)).convert("RGB"))
        a = model.images.embed_tensor(reference.unsqueeze(0))[0]
        b = model.images.embed_pixels(pixels[None])[0]
        sims.append(float(a @ b))
    assert np.mean(sims) >= 0.99, sims
