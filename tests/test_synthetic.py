"""The synthetic world, archive generator and tiny CLIP model (real ffmpeg, real open_clip)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from reelcat.synthetic.archive import Shot, generate_archive, make_video
from reelcat.synthetic.world import CONCEPTS, SENSITIVE_CONCEPTS, apply_nuisance, make_scene
from reelcat.tagging.vocabulary import load_vocabulary
from reelcat.tools import ffmpeg_path, ffprobe_path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "reelcat" / "models"
VOCAB = ROOT / "reelcat" / "vocabularies" / "synthetic.yaml"


def probe(path: Path) -> dict:
    out = subprocess.run(
        [ffprobe_path(), "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def video_stream(info: dict) -> dict:
    return next(s for s in info["streams"] if s["codec_type"] == "video")


def rotation_of(stream: dict) -> int:
    for sd in stream.get("side_data_list", []):
        if "rotation" in sd:
            return int(sd["rotation"])
    return 0


def decode_first_frame(path: Path, w: int, h: int) -> np.ndarray:
    """The first displayed frame (ffmpeg applies the display rotation), scaled to w x h."""
    raw = subprocess.run(
        [
            ffmpeg_path(),
            "-v",
            "error",
            "-i",
            str(path),
            "-frames:v",
            "1",
            "-vf",
            f"scale={w}:{h}",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "pipe:1",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(h, w, 3)


# ----------------------------------------------------------------------------- world


def test_render_is_deterministic_for_a_seed():
    a = make_scene("beach", np.random.default_rng(3)).render(1.25, (160, 90))
    b = make_scene("beach", np.random.default_rng(3)).render(1.25, (160, 90))
    c = make_scene("beach", np.random.default_rng(4)).render(1.25, (160, 90))
    assert a.shape == (90, 160, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_every_concept_renders_distinct_moving_pictures():
    means = {}
    for i, concept in enumerate(CONCEPTS):
        scene = make_scene(concept, np.random.default_rng(100 + i))
        f0 = scene.render(0.0, (96, 54))
        f1 = scene.render(3.0, (96, 54))
        assert f0.shape == (54, 96, 3)
        assert f0.std() > 5, f"{concept} renders a flat picture"
        assert np.abs(f0.astype(int) - f1.astype(int)).mean() > 0.5, f"{concept} does not move"
        means[concept] = f0.reshape(-1, 3).mean(0)
    # different concepts look different (pairwise mean colour or texture differs)
    frames = {
        c: make_scene(c, np.random.default_rng(7)).render(1.0, (64, 36)).astype(int)
        for c in CONCEPTS
    }
    for a in CONCEPTS:
        for b in CONCEPTS:
            if a < b:
                assert np.abs(frames[a] - frames[b]).mean() > 8, (a, b)


def test_render_sizes_and_aspect_ratios():
    scene = make_scene("city at night", 0)
    for w, h in [(160, 90), (120, 90), (64, 64), (90, 160)]:
        assert scene.render(0.5, (w, h)).shape == (h, w, 3)


def test_nuisances_degrade_frames():
    frame = make_scene("forest", 1).render(0.0, (160, 90))
    rng = np.random.default_rng(0)
    noisy = apply_nuisance(frame, "noise", 0.8, rng)
    blurred = apply_nuisance(frame, "blur", 0.8)
    faded = apply_nuisance(frame, "fade", 0.8)
    occluded = apply_nuisance(frame, "occlusion", 0.8, rect=(0.1, 0.1, 0.5, 0.6), color=(0, 0, 0))
    assert np.abs(noisy.astype(int) - frame).mean() > 10
    lap = lambda f: np.abs(np.diff(f.astype(int), axis=1)).mean()  # noqa: E731
    assert lap(blurred) < 0.5 * lap(frame)
    assert faded.mean() < 0.4 * frame.mean()
    assert (occluded[10:50, 17:79] == 0).all() and np.array_equal(occluded[70:], frame[70:])


def test_vocabulary_covers_the_world():
    vocab = load_vocabulary(VOCAB)
    assert vocab.names == list(CONCEPTS)
    assert sorted(t.name for t in vocab.tags if t.sensitive) == sorted(SENSITIVE_CONCEPTS)
    assert all(
        vocab.tag(n).negatives for n in ("snow field", "sky with clouds", "fire", "desert", "beach")
    )


# ----------------------------------------------------------------------------- videos

SHOTS = [
    Shot("beach", 1.5),
    Shot("weapon", 0.8, nuisance="noise"),
    Shot("kitchen", 1.2, second="blood", nuisance="fade"),
]


@pytest.mark.parametrize(
    "name,codec,rotation",
    [("a.mp4", "h264", 0), ("b.webm", "vp9", 0), ("c.mov", "h264", 90), ("d.mkv", "mpeg4", 0)],
)
def test_make_video_matches_its_ground_truth(tmp_path, name, codec, rotation):
    truth = make_video(tmp_path / name, SHOTS, size=(320, 180), fps=12, rotation=rotation, seed=5)
    info = probe(tmp_path / name)
    v = video_stream(info)
    assert truth["codec"] == v["codec_name"] == codec
    assert (v["width"], v["height"]) == (truth["width"], truth["height"]) == (320, 180)
    assert rotation_of(v) == truth["rotation"] == rotation
    assert abs(float(info["format"]["duration"]) - truth["duration"]) <= 1 / 12 + 1e-3
    assert truth["duration"] == pytest.approx(3.5, abs=1 / 12)
    shots = truth["shots"]
    assert shots[0]["start"] == 0 and shots[-1]["end"] == truth["duration"]
    assert shots[2]["concepts"] == ["kitchen", "blood"] and shots[1]["nuisance"] == "noise"
    assert [s["concept"] for s in truth["sensitive"]] == ["weapon", "blood"]
    assert truth["main_topics"][0] == "beach"


def test_rotated_video_is_upright_when_displayed(tmp_path):
    # a beach: blue sky on top, sand below. After the player applies the display matrix
    # the top of the picture must be bluer than the bottom.
    truth = make_video(
        tmp_path / "r.mp4", [Shot("beach", 1.0)], size=(320, 180), fps=10, rotation=90, seed=2
    )
    assert (truth["display_width"], truth["display_height"]) == (180, 320)
    frame = decode_first_frame(tmp_path / "r.mp4", 90, 160).astype(int)
    top, bottom = frame[:30], frame[-30:]
    blueness = lambda x: (x[..., 2] - x[..., 0]).mean()  # noqa: E731
    assert blueness(top) > blueness(bottom) + 40


def test_vfr_video_has_varying_frame_durations(tmp_path):
    truth = make_video(
        tmp_path / "v.mp4",
        [Shot("road with cars", 4.0), Shot("crowd", 4.0)],
        size=(320, 180),
        vfr=True,
        seed=3,
    )
    assert truth["vfr"]
    out = subprocess.run(
        [
            ffprobe_path(),
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time,duration_time",
            "-of",
            "csv=p=0",
            str(tmp_path / "v.mp4"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = sorted(tuple(float(x) for x in line.split(",")[:2]) for line in out.split() if line)
    assert len(rows) == truth["frames"]
    gaps = np.diff([r[0] for r in rows])
    assert len(set(np.round(gaps, 3))) >= 2, "frame durations do not vary"
    assert gaps.max() / gaps.min() >= 1.9
    info = probe(tmp_path / "v.mp4")
    assert abs(float(info["format"]["duration"]) - truth["duration"]) <= 1 / 10 + 1e-3


def test_generate_archive_ground_truth_tiles_each_video(tmp_path):
    gt_path = generate_archive(tmp_path, videos=2, seed=11, sensitive_share=0.5)
    gt = json.loads(gt_path.read_text())
    assert gt["seed"] == 11 and gt["concepts"] == list(CONCEPTS)
    assert len(gt["videos"]) == 2
    assert sum(1 for v in gt["videos"] if v["sensitive"]) == 1
    for v in gt["videos"]:
        path = tmp_path / v["file"]
        assert path.is_file()
        assert 8 - 1e-6 <= v["duration"] <= 40
        shots = v["shots"]
        assert shots[0]["start"] == 0.0
        assert shots[-1]["end"] == pytest.approx(v["duration"], abs=1e-6)
        for a, b in zip(shots, shots[1:], strict=False):
            assert a["end"] == pytest.approx(b["start"], abs=1e-6)
            assert a["end"] > a["start"]
        assert v["main_topics"], "every video is about something"
        info = probe(path)
        assert abs(float(info["format"]["duration"]) - v["duration"]) <= 1.5 / v["fps"]
        assert video_stream(info)["codec_name"] == v["codec"]
        for s in v["sensitive"]:
            assert s["concept"] in SENSITIVE_CONCEPTS and s["end"] > s["start"]


def _decoded(path: Path) -> np.ndarray:
    raw = subprocess.run(
        [ffmpeg_path(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, 90, 160).astype(np.float32)


def test_glitches_spoil_frames_only_inside_them_and_videos_are_byte_reproducible(tmp_path):
    plain = [Shot("beach", 2.0)]
    glitched = [Shot("beach", 2.0, glitches=((0.5, 0.5, "dropout"),))]
    truth = make_video(tmp_path / "g1.mkv", glitched, size=(160, 90), fps=10, seed=3)
    make_video(tmp_path / "g2.mkv", glitched, size=(160, 90), fps=10, seed=3)
    make_video(tmp_path / "p.mkv", plain, size=(160, 90), fps=10, seed=3)
    assert (tmp_path / "g1.mkv").read_bytes() == (tmp_path / "g2.mkv").read_bytes()
    assert truth["shots"][0]["glitches"] == [[0.5, 1.0, "dropout"]]
    diff = np.abs(_decoded(tmp_path / "g1.mkv") - _decoded(tmp_path / "p.mkv")).mean(axis=(1, 2))
    assert (diff[5:10] > 20).all()  # frames 0.5-0.9 s are spoilt
    assert (diff[:5] < 6).all() and (diff[10:] < 6).all()  # the rest is the same picture
    with pytest.raises(ValueError, match="unknown glitch"):
        Shot("beach", 2.0, glitches=((0.0, 0.5, "sneeze"),))


# ----------------------------------------------------------------------------- model


def test_committed_checkpoint_is_useful_but_imperfect():
    from reelcat.synthetic.train import evaluate, load_model

    model, preprocess, tokenizer = load_model(MODELS)
    res = evaluate(
        model, preprocess, tokenizer, per_concept=11, seed=424242
    )  # 198 frames with nuisances
    assert 0.55 < res["accuracy"] < 0.97, res


def test_train_a_few_steps_writes_a_loadable_checkpoint(tmp_path):
    import torch

    from reelcat.synthetic.train import load_model, main

    assert (
        main(
            [
                "--out",
                str(tmp_path),
                "--steps",
                "3",
                "--batch",
                "18",
                "--workers",
                "0",
                "--eval-per-concept",
                "1",
            ]
        )
        == 0
    )
    assert (tmp_path / "reelcat-tiny-clip.json").is_file()
    model, preprocess, tokenizer = load_model(tmp_path)
    with torch.no_grad():
        emb = model.encode_text(tokenizer(["a photo of a beach."]), normalize=True)
    assert emb.shape == (1, 64) and torch.isfinite(emb).all()
