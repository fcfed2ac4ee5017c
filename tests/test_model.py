"""The model loads through open_clip's own path, fails clearly, and the sample archive's
catalogue tells the truth about its videos."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import open_clip
import pytest
import torch

from reelcat.config import ModelConfig, load_config
from reelcat.tagging.model import ClipModel, ModelLoadError

from .conftest import REPO, tiny_config


def test_configured_checkpoint_embeds_like_open_clip_loaded_directly():
    cfg = load_config(REPO / "reelcat.yaml", environ={}).model
    ours = ClipModel(cfg)
    open_clip.add_model_config(str(REPO / "reelcat/models/reelcat-tiny-clip.json"))
    model, _, preprocess = open_clip.create_model_and_transforms(
        "reelcat-tiny-clip", pretrained=str(REPO / "reelcat/models/reelcat-tiny-clip.pt")
    )
    model.eval()
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, size=(4, 64, 64, 3), dtype=np.uint8)
    with torch.inference_mode():
        direct = model.encode_image(ours.images.pixels_to_tensor(pixels))
        direct = torch.nn.functional.normalize(direct, dim=-1).numpy()
        text = model.encode_text(open_clip.get_tokenizer("reelcat-tiny-clip")(["a beach"]))
    np.testing.assert_allclose(ours.images.embed_pixels(pixels), direct, atol=1e-5)
    np.testing.assert_allclose(
        ours.embed_texts(["a beach"])[0],
        torch.nn.functional.normalize(text, dim=-1).numpy()[0],
        atol=1e-5,
    )


def test_missing_checkpoint_is_one_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="checkpoint file not found"):
        ClipModel(ModelConfig(name="ViT-B-32", pretrained=str(tmp_path / "nope.pt")))


def test_unreachable_weights_say_what_to_configure_and_never_fall_back():
    code = (
        "from reelcat.tagging.model import ClipModel, ModelLoadError\n"
        "from reelcat.config import ModelConfig\n"
        "try:\n    ClipModel(ModelConfig())\nexcept ModelLoadError as e:\n    print(e)\n"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1")  # no waiting on a hub this machine can't reach
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert "could not load weights 'laion2b_s34b_b79k'" in proc.stdout
    assert "model.pretrained" in proc.stdout and "local path" in proc.stdout


def test_random_weights_only_when_asked_and_the_id_says_so():
    from reelcat.config import model_id

    assert model_id(ModelConfig(random_weights=True)) == "ViT-B-32@random-init"
    assert model_id(ModelConfig()) == "ViT-B-32@laion2b_s34b_b79k"


@pytest.mark.slow
def test_sample_archive_catalogue_names_each_main_topic(tmp_path, ray_local):
    from catalog.build import open_catalog
    from reelcat.synthetic.archive import generate_archive

    from .conftest import materialize

    archive = tmp_path / "sample"
    truth = json.loads(generate_archive(archive, 12, 7).read_text())
    out = tmp_path / "out"
    materialize(archive, out)
    con = open_catalog(out)
    top = dict(con.execute("SELECT file_name, top_tags FROM video_summaries").fetchall())
    assert top["v009_beach.mp4"][0] == "beach"
    assert top["v004_waterfall.mp4"][0] == "waterfall"
    assert top["v001_sports-field.webm"][0] == "sports field"
    assert set(top["v007_road-with-cars.mp4"][:2]) == {"road with cars", "city at night"}
    named = sum(v["main_topics"][0] in top[v["file"]][:3] for v in truth["videos"])
    assert named >= 10, named  # most videos: 11 of 12 when measured


def test_text_features_on_the_used_positions_equal_open_clips_own():
    """encode_text on the positions up to the longest text's end (reelcat's text cost cut)
    gives open_clip's encode_text features, for the bundled model and ViT-B-32."""
    from reelcat.tagging.model import encode_text, load_model, reads_text_at_its_end

    texts = ["a photo of a beach.", "fire", "a blurry photo of a road with cars at night."]
    tiny = load_model(tiny_config(REPO, REPO).model.model_dump_json())
    vit = open_clip.create_model("ViT-B-32", pretrained=None).eval()
    for model, tokenizer in (
        (tiny.model, tiny.tokenizer),
        (vit, open_clip.get_tokenizer("ViT-B-32")),
    ):
        assert reads_text_at_its_end(model)  # the cut is taken, not the fallback
        tokens = tokenizer(texts)
        assert int(tokens.argmax(-1).max()) + 1 < tokens.shape[1] / 2  # really shorter
        with torch.inference_mode():
            mine, theirs = encode_text(model, tokens), model.encode_text(tokens)
        assert mine.shape == theirs.shape
        torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-5)
