"""ffmpeg sampling: real timestamps per mode, chunking, and preprocessing parity."""

from __future__ import annotations

import io
import json
import subprocess

import numpy as np
import pytest
from PIL import Image

from reelcat.ingest.frames import Chunk, decode_chunk, decode_errors, parse_log, plan_chunks
from reelcat.tools import ffmpeg_path, ffprobe_path

from .conftest import lavfi_video


@pytest.fixture(scope="module")
def gop_video(tmp_path_factory):
    """12 s at 25 fps with a keyframe every 2 s: keyframes and interval sampling differ."""
    return lavfi_video(
        tmp_path_factory.mktemp("v") / "gop.mp4", "testsrc2", duration=12, size="640x360", gop=50
    )


def damage_middle(path, out, nbytes: int = 60_000, seed: int = 17):
    """A copy of a video with `nbytes` random bytes (fixed seed) over its middle: ffmpeg
    decodes it with about a hundred errors, as a file damaged on disk."""
    data = bytearray(path.read_bytes())
    at = len(data) // 2 - nbytes // 2
    data[at : at + nbytes] = np.random.default_rng(seed).bytes(nbytes)
    out.write_bytes(bytes(data))
    return out


@pytest.fixture(scope="module")
def damaged_video(tmp_path_factory):
    """10 s at 25 fps, one keyframe (x264's default GOP): 60 KB of noise in its middle."""
    folder = tmp_path_factory.mktemp("damaged")
    clean = lavfi_video(folder / "clean.mp4", "testsrc2", duration=10)
    return clean, damage_middle(clean, folder / "damaged.mp4")


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


def test_a_damaged_file_gives_the_frames_that_decode_and_counts_its_errors(damaged_video):
    clean, damaged = damaged_video
    good = decode(clean, "interval", interval=1.0)
    assert good.decode_errors == 0 and good.first_decode_error is None
    frames = decode(damaged, "interval", interval=1.0)
    assert frames.decode_errors > 20  # ffmpeg's own count: one per broken NAL unit, …
    assert "Invalid NAL unit size" in frames.first_decode_error
    assert len(frames.times) == 10 == len(frames.pixels)  # every 1 s bin has a frame
    # Real presentation timestamps, each in its bin: where the damage swallowed a bin's
    # first frames, its frame is the first that decoded (as ffmpeg stamps it), not a guess.
    real = set(round(t, 3) for t in ffprobe_times(clean))
    assert all(round(t, 3) in real for t in frames.times)
    assert [int(t) for t in frames.times] == list(range(10))
    late = [t for t in frames.times if t - int(t) > 0.1]
    assert late, frames.times  # the damaged bin (4.64 s in the issue, here mid-file)
    assert decode(damaged, "auto", interval=1.0).times.tolist() == frames.times.tolist()


def test_a_damaged_stretch_without_frames_is_damage_not_a_failure(damaged_video):
    """Keyframes only, in a chunk with no keyframe, of a damaged file: ffmpeg decodes
    nothing and exits 69 (too many errors); that is damage (auto goes on to a full
    decode), not an unreadable file."""
    _, damaged = damaged_video
    frames = decode(damaged, "keyframes", interval=1.0, start=2.0, duration=3.0)
    assert len(frames.times) == 0 and frames.decode_errors > 0
    assert len(decode(damaged, "auto", interval=1.0, start=2.0, duration=3.0).times) == 3


def test_a_healthy_open_gop_file_decoded_in_chunks_has_no_decode_errors(tmp_path):
    """A chunk's seek decodes from the keyframe before its start; an open GOP's leading
    B-frames miss their references there ("mmco: unref short failure"): not damage."""
    video = lavfi_video(
        tmp_path / "open_gop.mp4",
        "testsrc2",
        duration=12,
        gop=50,
        extra=["-x264-params", "open-gop=1:bframes=3"],
    )
    for start in (0.0, 3.7, 5.1, 7.9):
        frames = decode(video, "interval", interval=1.0, start=start, duration=3.0)
        assert frames.decode_errors == 0, (start, frames.first_decode_error)


def test_the_log_is_read_by_level_and_context():
    log = "\n".join(
        [
            "[info] Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':",
            "[h264 @ 0x55d0] [error] mmco: unref short failure",  # pre-roll of a seek
            "[Parsed_showinfo_1 @ 0x55e0] [info] n:   0 pts:  12800 pts_time:0.02    "
            "duration:    512 duration_time:0.04    pos: 4 fmt:yuv420p",
            "[NULL @ 0x55f0] [error] Invalid NAL unit size (1801782545 > 4372).",
            "[h264 @ 0x55d0] [error] error while decoding MB 8 0",
            "[error] Error while decoding stream #0:0: Invalid data found when processing input",
            "[vist#0:0/h264 @ 0x5600] [error] Decoding error: Invalid data found",
            "[Parsed_scale_2 @ 0x5610] [error] a filter's own error",
            "[h264 @ 0x55d0] [warning] a warning",
        ]
    )
    lines = parse_log(log)
    assert [ln.level for ln in lines][:3] == ["info", "error", "info"]
    errors = decode_errors(lines)
    assert [e.text for e in errors] == [
        "h264: mmco: unref short failure",
        "Invalid NAL unit size (1801782545 > 4372).",
        "h264: error while decoding MB 8 0",
    ]
    # after a seek, errors before an on-time first frame are the pre-roll's
    assert len(decode_errors(lines, after_seek=True)) == 2
    late = parse_log(log.replace("pts_time:0.02", "pts_time:0.64"))
    assert len(decode_errors(late, after_seek=True)) == 3
