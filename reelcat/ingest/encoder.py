"""The image half of a CLIP model, as the embedding actors use it, and its on-disk cache.

`ImageEncoder` turns model-sized uint8 frames into unit-length embeddings in batches
(`torch.inference_mode`, fp16 autocast on CUDA). It needs torch only.

An actor starts by loading the model; on CPU it loads a TorchScript trace of the image
tower cached per model id instead (`load_image_encoder`): that skips importing open_clip
and torchvision (about 3 s here) and building the model (about 2 s for ViT-B-32), most
of an actor's cold start, which every `embed_videos` call pays. The first actor on a
machine builds the model through open_clip (`reelcat.tagging.model.ClipModel`, the one loading
path), traces its image tower, checks the trace against `encode_image`, and saves it;
later actors load the file in a fraction of a second. The cache key covers the model id
(checkpoint digest included), the architecture config and the torch and open_clip
versions, so a changed model never loads a stale trace. Folder: $REELCAT_CACHE, else
$XDG_CACHE_HOME/reelcat or ~/.cache/reelcat; each machine of a Ray cluster keeps its own.
On CUDA the model is built as before (a trace is tied to the device it was made on).
On a Ray cluster the driver sends the checkpoint's bytes (reelcat.ingest.pipeline
`ShippedModel`): the actor passes the driver's model id and a `fetch_weights` that
writes them to a local file, called only when the model must be built.
TorchScript is deprecated in favour of torch.export, whose loader takes longer here
than building the model (7 s for ViT-B-32); a trace that cannot be saved or loaded only
means the model is built instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable
from functools import cached_property
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from reelcat.config import ModelConfig, cache_dir, file_digest, model_id

TRACE_TOLERANCE = 1e-4  # the trace must reproduce encode_image to this (max abs diff)


def device_of(cfg: ModelConfig) -> str:
    if cfg.device != "auto":
        return cfg.device
    return "cuda" if torch.cuda.is_available() else "cpu"


class ImageEncoder:
    """Model-sized uint8 frames (n, S, S, 3) -> unit-length embeddings (n, dim)."""

    def __init__(self, visual, image_size: int, mean, std, batch_size: int, device: str):
        self.visual = visual  # callable: normalised (n, 3, S, S) tensor -> features
        self.image_size = int(image_size)
        self.mean, self.std = [float(x) for x in mean], [float(x) for x in std]
        self.batch_size = batch_size
        self.device = device
        self._mean = torch.tensor(self.mean, dtype=torch.float32).view(1, 3, 1, 1)
        self._std = torch.tensor(self.std, dtype=torch.float32).view(1, 3, 1, 1)

    @cached_property
    def embed_dim(self) -> int:
        return int(self.embed_tensor(torch.zeros(1, 3, self.image_size, self.image_size)).shape[1])

    def pixels_to_tensor(self, pixels: np.ndarray) -> torch.Tensor:
        """(n, S, S, 3) uint8 from ffmpeg -> normalised (n, 3, S, S) float tensor."""
        x = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float()
        return x.div_(255.0).sub_(self._mean).div_(self._std)  # in place: one float copy

    @torch.inference_mode()
    def embed_tensor(self, x: torch.Tensor) -> np.ndarray:
        out = []
        for i in range(0, len(x), self.batch_size):
            batch = x[i : i + self.batch_size].to(self.device)
            if self.device == "cuda":
                with torch.autocast("cuda", dtype=torch.float16):
                    feats = self.visual(batch)
            else:
                feats = self.visual(batch)
            out.append(torch.nn.functional.normalize(feats.float(), dim=-1).cpu().numpy())
        if not out:
            return np.zeros((0, self.embed_dim), dtype=np.float32)
        return np.concatenate(out).astype(np.float32)

    def embed_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """Unit-length image embeddings of model-sized uint8 frames, converted to float
        one batch at a time (never the whole array at once: flat memory)."""
        if len(pixels) == 0:
            return np.zeros((0, self.embed_dim), dtype=np.float32)
        step = self.batch_size
        return np.concatenate(
            [
                self.embed_tensor(self.pixels_to_tensor(pixels[i : i + step]))
                for i in range(0, len(pixels), step)
            ]
        )


def trace_path(cfg: ModelConfig, known_id: str | None = None) -> Path:
    """Where the trace of this model's image tower is cached (`known_id`: the model id
    as the driver computed it, for a checkpoint this machine does not have)."""
    try:
        open_clip_version = metadata.version("open_clip_torch")
    except metadata.PackageNotFoundError:
        open_clip_version = "?"
    key = {
        "model": known_id or model_id(cfg),
        "torch": torch.__version__,
        "open_clip": open_clip_version,
        "config": file_digest(cfg.config_file)
        if cfg.config_file and os.path.isfile(cfg.config_file)
        else None,
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir() / "encoders" / f"{cfg.name.replace('/', '_')}-{digest}.pt"


def load_image_encoder(
    cfg: ModelConfig,
    *,
    known_id: str | None = None,
    fetch_weights: Callable[[], str] | None = None,
) -> ImageEncoder:
    """The image encoder for `cfg`, from the trace cache when possible (see above).

    `known_id` and `fetch_weights` are for a checkpoint that is not on this machine:
    the model id the driver computed from it, and a callable that brings it here and
    returns its local path (called only when the model is built, not for a cached trace).
    """
    device = device_of(cfg)
    path = trace_path(cfg, known_id)
    if device == "cpu" and path.exists():
        # TorchScript's default (profiling) executor holds the intermediates of its first
        # run: that call peaks 276 MB higher than later ones for ViT-B-32 at batch 32, the
        # simple executor 84 MB, and it runs as fast here. (A process-wide switch; the
        # actor runs nothing else through TorchScript.)
        if hasattr(torch._C, "_jit_set_profiling_executor"):
            torch._C._jit_set_profiling_executor(False)
        try:
            extra = {"meta.json": ""}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                visual = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
            meta = json.loads(extra["meta.json"])
            return ImageEncoder(
                visual.eval(), meta["image_size"], meta["mean"], meta["std"], cfg.batch_size, device
            )
        except (RuntimeError, ValueError, KeyError, OSError):
            path.unlink(missing_ok=True)  # unreadable: build and trace again
    from reelcat.tagging.model import ClipModel

    if fetch_weights is not None:
        cfg = cfg.model_copy(update={"pretrained": fetch_weights()})
    model = ClipModel(cfg)  # the same bytes under the same name: the driver's model id
    if device == "cpu":
        save_trace(model, path)
    return model.images


def save_trace(model, path: Path) -> bool:
    """Trace `model`'s image tower (a reelcat.tagging.model.ClipModel), check it against
    encode_image and save it atomically. False, and nothing saved, if it does not match
    or cannot be written."""
    images = model.images
    x = torch.randn(
        2, 3, images.image_size, images.image_size, generator=torch.Generator().manual_seed(0)
    )
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            traced = torch.jit.trace(model.model.visual, x)
            if (traced(x) - model.model.encode_image(x)).abs().max().item() > TRACE_TOLERANCE:
                return False
            path.parent.mkdir(parents=True, exist_ok=True)
            meta = {
                "image_size": images.image_size,
                "mean": images.mean,
                "std": images.std,
                "model_id": model.id,
            }
            torch.jit.save(traced, str(tmp), _extra_files={"meta.json": json.dumps(meta)})
        tmp.replace(path)
        return True
    except (RuntimeError, OSError, TypeError):
        tmp.unlink(missing_ok=True)
        return False
