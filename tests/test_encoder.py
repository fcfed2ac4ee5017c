"""The embedding actors' image encoder: the cached trace embeds exactly like the model
built through open_clip, loads without importing open_clip, and is never stale."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import torch

from reelcat.config import load_config
from reelcat.ingest.encoder import load_image_encoder, trace_path
from reelcat.tagging.model import ClipModel

from .conftest import REPO


def _tiny(tmp_path, monkeypatch):
    monkeypatch.setenv("REELCAT_CACHE", str(tmp_path / "cache"))
    return load_config(REPO / "reelcat.yaml", environ={}).model


def test_first_load_caches_a_trace_that_embeds_like_the_model(tmp_path, monkeypatch):
    cfg = _tiny(tmp_path, monkeypatch)
    pixels = np.random.default_rng(0).integers(0, 255, size=(5, 64, 64, 3), dtype=np.uint8)
    reference = ClipModel(cfg).images.embed_pixels(pixels)

    first = load_image_encoder(cfg)  # builds the model, saves the trace
    assert trace_path(cfg).exists()
    assert not isinstance(first.visual, torch.jit.ScriptModule)
    second = load_image_encoder(cfg)  # loads the trace
    assert isinstance(second.visual, torch.jit.ScriptModule)
    assert second.image_size == 64
    np.testing.assert_allclose(second.embed_pixels(pixels), reference, atol=1e-5)
    assert second.embed_pixels(pixels[:0]).shape == (0, reference.shape[1])


def test_cached_encoder_loads_without_open_clip(tmp_path, monkeypatch):
    cfg = _tiny(tmp_path, monkeypatch)
    load_image_encoder(cfg)
    code = (
        "import sys\n"
        "from reelcat.config import load_config\n"
        "from reelcat.ingest.encoder import load_image_encoder\n"
        f"enc = load_image_encoder(load_config({str(REPO / 'reelcat.yaml')!r}).model)\n"
        "print(type(enc.visual).__name__, 'open_clip' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ},
        cwd=REPO,
        check=True,
    ).stdout.split()
    assert out == ["RecursiveScriptModule", "False"]


def test_trace_follows_the_weights_and_a_broken_file_is_rebuilt(tmp_path, monkeypatch):
    cfg = _tiny(tmp_path, monkeypatch)
    # other weights (a copy of the checkpoint with one byte more): another cache entry
    other = tmp_path / "other.pt"
    other.write_bytes(open(cfg.pretrained, "rb").read() + b"\0")
    assert trace_path(cfg) != trace_path(cfg.model_copy(update={"pretrained": str(other)}))
    assert trace_path(cfg) != trace_path(cfg.model_copy(update={"random_weights": True}))

    path = trace_path(cfg)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a torchscript file")
    enc = load_image_encoder(cfg)  # built through open_clip again, cache repaired
    assert not isinstance(enc.visual, torch.jit.ScriptModule)
    assert isinstance(load_image_encoder(cfg).visual, torch.jit.ScriptModule)
