"""The CLIP model: loading through open_clip, image and text embeddings.

Any open_clip model name with a pretrained tag, or a local checkpoint path (air-gapped
sites, and the project's own tiny offline model), loads through the same call. Weights
that cannot be obtained are a ModelLoadError that says what to configure; reelcat never
falls back to random weights on its own. Random weights exist only when asked for
(`random_weights: true`), for throughput measurement, and the model id then says so.
"""

from __future__ import annotations

import logging
import os
from functools import cache
from pathlib import Path

import numpy as np
import open_clip
import torch
from open_clip.zero_shot_metadata import SIMPLE_IMAGENET_TEMPLATES

from reelcat.config import ModelConfig, model_id
from reelcat.ingest.encoder import ImageEncoder, device_of

TEMPLATES = SIMPLE_IMAGENET_TEMPLATES


class ModelLoadError(RuntimeError):
    """The configured model or its weights could not be loaded."""


class ClipModel:
    """An open_clip model ready to embed model-sized uint8 frames and text prompts."""

    def __init__(self, cfg: ModelConfig):
        self.cfg = cfg
        self.id = model_id(cfg)
        self.device = device_of(cfg)
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
        self.images = ImageEncoder(
            model.encode_image,
            self.image_size,
            pcfg["mean"],
            pcfg["std"],
            cfg.batch_size,
            self.device,
        )
        self.logit_scale = float(model.logit_scale.exp().item())
        self.preprocess = open_clip.image_transform(
            self.image_size,
            is_train=False,
            mean=pcfg["mean"],
            std=pcfg["std"],
            interpolation=pcfg.get("interpolation", "bicubic"),
            resize_mode=pcfg.get("resize_mode", "shortest"),
        )

    @torch.inference_mode()
    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings of literal texts (a search query, say)."""
        tokens = self.tokenizer(texts).to(self.device)
        feats = encode_text(self.model, tokens)
        return torch.nn.functional.normalize(feats.float(), dim=-1).cpu().numpy()

    @torch.inference_mode()
    def embed_prompt_sets(self, prompt_sets: list[tuple[str, ...]]) -> np.ndarray:
        """One unit vector per set: open_clip's template ensemble over each set's phrasings."""
        flat = [p for s in prompt_sets for p in s]
        per_prompt = (
            open_clip.build_zero_shot_classifier(
                self.model, self.tokenizer, flat, TEMPLATES, device=self.device
            )
            .T.float()
            .cpu()
        )  # (n_prompts, dim)
        out, i = [], 0
        for s in prompt_sets:
            out.append(torch.nn.functional.normalize(per_prompt[i : i + len(s)].mean(0), dim=-1))
            i += len(s)
        return torch.stack(out).numpy().astype(np.float32)


def reads_text_at_its_end(model) -> bool:
    """Whether `model` is open_clip's CLIP with a causal text tower read at the end-of-text
    token (the highest token id), the case `encode_text` may cut short."""
    return (
        type(model) is open_clip.CLIP
        and getattr(model, "text_pool_type", None) == "argmax"
        and getattr(model, "attn_mask", None) is not None
    )


def encode_text(model, tokens: torch.Tensor) -> torch.Tensor:
    """`model.encode_text(tokens)`, computed on the positions up to the longest text's end
    where that gives the same features: in open_clip's CLIP text tower attention is causal
    and the features are read at the end-of-text token, so the padding after it changes
    nothing, and a prompt's ~15 tokens cost a fifth of the context's 77 (tested equal to
    `encode_text` in tests/test_model.py). Other text towers: `encode_text` itself."""
    if not reads_text_at_its_end(model):
        return model.encode_text(tokens)
    length = int(tokens.argmax(dim=-1).max()) + 1
    tokens = tokens[:, :length]
    cast = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast) + model.positional_embedding[:length].to(cast)
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)[torch.arange(len(tokens)), tokens.argmax(dim=-1)]
    projection = model.text_projection
    if projection is None:
        return x
    return projection(x) if isinstance(projection, torch.nn.Linear) else x @ projection


@cache
def load_model(cfg_json: str) -> ClipModel:
    """One loaded model per process and configuration (driver side: text, search)."""
    return ClipModel(ModelConfig.model_validate_json(cfg_json))
