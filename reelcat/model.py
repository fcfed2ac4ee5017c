"""The CLIP model: loading through open_clip, image and text embeddings.

Any open_clip model name with a pretrained tag, or a local checkpoint path (air-gapped
sites, and the project's own tiny offline model), loads through the same call. Weights
that cannot be obtained are a ModelLoadError that says what to configure; reelcat never
falls back to random weights on its own. Random weights exist only when asked for
(`random_weights: true`), for throughput measurement, and the model id then says so.
"""

from __future__ import annotations

import hashlib
import logging
import os
from functools import cache
from pathlib import Path

import numpy as np
import open_clip
import torch
from open_clip.zero_shot_metadata import SIMPLE_IMAGENET_TEMPLATES

from reelcat.config import ModelConfig

TEMPLATES = SIMPLE_IMAGENET_TEMPLATES


class ModelLoadError(RuntimeError):
    """The configured model or its weights could not be loaded."""


def _file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:8]


def model_id(cfg: ModelConfig) -> str:
    """A stable id for (architecture, weights): stored on every embedding and tag row."""
    if cfg.random_weights:
        return f"{cfg.name}@random-init"
    if cfg.pretrained and os.path.isfile(cfg.pretrained):
        return f"{cfg.name}@{Path(cfg.pretrained).stem}-{_file_digest(cfg.pretrained)}"
    return f"{cfg.name}@{cfg.pretrained}"


def _device(cfg: ModelConfig) -> str:
    if cfg.device != "auto":
        return cfg.device
    return "cuda" if torch.cuda.is_available() else "cpu"


class ClipModel:
    """An open_clip model ready to embed model-sized uint8 frames and text prompts."""

    def __init__(self, cfg: ModelConfig):
        self.cfg = cfg
        self.id = model_id(cfg)
        self.device = _device(cfg)
        if cfg.config_file:
            if not os.path.isfile(cfg.config_file):
                raise ModelLoadError(f"model config file not found: {cfg.config_file}")
            open_clip.add_model_config(cfg.config_file)
        pretrained = None if cfg.random_weights else cfg.pretrained
        if not cfg.random_weights and not pretrained:
            raise ModelLoadError(
                f"no weights configured for {cfg.name}: set model.pretrained to an open_clip "
                "tag or a local checkpoint path (random_weights: true only for benchmarks)"
            )
        looks_like_path = bool(pretrained) and ("/" in pretrained or "." in Path(pretrained).name)
        if looks_like_path and not os.path.isfile(pretrained):
            raise ModelLoadError(f"checkpoint file not found: {pretrained}")
        try:
            if cfg.random_weights:
                # open_clip warns that no weights were loaded: here that is the request.
                logging.getLogger().disabled, was = True, logging.getLogger().disabled
                try:
                    model = open_clip.create_model(cfg.name, pretrained=None)
                finally:
                    logging.getLogger().disabled = was
            else:
                model = open_clip.create_model(cfg.name, pretrained=pretrained)
        except Exception as exc:  # open_clip raises many types for a missing download
            raise ModelLoadError(
                f"could not load weights {pretrained!r} for open_clip model {cfg.name!r}: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}. "
                "If this machine cannot reach a model hub, download the checkpoint elsewhere "
                "and set model.pretrained (or REELCAT_MODEL_PRETRAINED) to its local path; "
                "the bundled offline model is reelcat/models/reelcat-tiny-clip.pt."
            ) from None
        self.model = model.to(self.device).eval()
        self.tokenizer = open_clip.get_tokenizer(cfg.name)
        pcfg = model.visual.preprocess_cfg
        size = pcfg.get("size", model.visual.image_size)
        self.image_size = int(size[0] if isinstance(size, (tuple, list)) else size)
        self._mean = torch.tensor(pcfg["mean"], dtype=torch.float32).view(1, 3, 1, 1)
        self._std = torch.tensor(pcfg["std"], dtype=torch.float32).view(1, 3, 1, 1)
        self.logit_scale = float(model.logit_scale.exp().item())
        self.preprocess = open_clip.image_transform(
            self.image_size, is_train=False, mean=pcfg["mean"], std=pcfg["std"],
            interpolation=pcfg.get("interpolation", "bicubic"),
            resize_mode=pcfg.get("resize_mode", "shortest"),
        )

    @property
    def embed_dim(self) -> int:
        return int(self.model.text_projection.shape[1]) if hasattr(
            self.model, "text_projection") and self.model.text_projection is not None else int(
            self.embed_texts(["x"]).shape[1])

    def pixels_to_tensor(self, pixels: np.ndarray) -> torch.Tensor:
        """(n, S, S, 3) uint8 from ffmpeg -> normalised (n, 3, S, S) float tensor."""
        x = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float() / 255.0
        return (x - self._mean) / self._std

    @torch.inference_mode()
    def embed_tensor(self, x: torch.Tensor) -> np.ndarray:
        out = []
        for i in range(0, len(x), self.cfg.batch_size):
            batch = x[i : i + self.cfg.batch_size].to(self.device)
            if self.device == "cuda":
                with torch.autocast("cuda", dtype=torch.float16):
                    feats = self.model.encode_image(batch)
            else:
                feats = self.model.encode_image(batch)
            feats = torch.nn.functional.normalize(feats.float(), dim=-1)
            out.append(feats.cpu().numpy())
        if not out:
            return np.zeros((0, self.embed_dim), dtype=np.float32)
        return np.concatenate(out).astype(np.float32)

    def embed_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """Unit-length image embeddings of model-sized uint8 frames."""
        if len(pixels) == 0:
            return np.zeros((0, self.embed_dim), dtype=np.float32)
        return self.embed_tensor(self.pixels_to_tensor(pixels))

    @torch.inference_mode()
    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings of literal texts (a search query, say)."""
        tokens = self.tokenizer(texts).to(self.device)
        feats = self.model.encode_text(tokens)
        return torch.nn.functional.normalize(feats.float(), dim=-1).cpu().numpy()

    @torch.inference_mode()
    def embed_prompt_sets(self, prompt_sets: list[tuple[str, ...]]) -> np.ndarray:
        """One unit vector per set: open_clip's template ensemble over each set's phrasings."""
        flat = [p for s in prompt_sets for p in s]
        per_prompt = open_clip.build_zero_shot_classifier(
            self.model, self.tokenizer, flat, TEMPLATES, device=self.device
        ).T.float().cpu()  # (n_prompts, dim)
        out, i = [], 0
        for s in prompt_sets:
            out.append(torch.nn.functional.normalize(per_prompt[i : i + len(s)].mean(0), dim=-1))
            i += len(s)
        return torch.stack(out).numpy().astype(np.float32)


@cache
def load_model(cfg_json: str) -> ClipModel:
    """One loaded model per process and configuration (driver side: text, search)."""
    return ClipModel(ModelConfig.model_validate_json(cfg_json))
