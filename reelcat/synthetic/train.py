"""Train the tiny open_clip model ``reelcat-tiny-clip`` on the synthetic world.

    python -m reelcat.synthetic.train --out reelcat/models [--steps 2000 | --minutes M] [--seed 0]

Writes ``<out>/reelcat-tiny-clip.json`` (an open_clip model config) and
``<out>/reelcat-tiny-clip.pt`` (an fp16 state dict), which load through open_clip's
generic path::

    open_clip.add_model_config("reelcat/models/reelcat-tiny-clip.json")
    model, _, preprocess = open_clip.create_model_and_transforms(
        "reelcat-tiny-clip", pretrained="reelcat/models/reelcat-tiny-clip.pt")
    tokenizer = open_clip.get_tokenizer("reelcat-tiny-clip")

Training images are rendered by :mod:`reelcat.synthetic.world` at random sizes and
aspect ratios, degraded by random nuisances, and passed through that same
``preprocess``. Captions are open_clip's ImageNet templates applied to a concept's
synonyms, plus free phrasings. Batches repeat concepts, so the loss is CLIP's symmetric
cross-entropy with label-aware (supervised-contrastive) targets: every caption of the
same concept counts as a positive, never as a false negative.

At the end it prints zero-shot top-1 accuracy on held-out renders (fresh layouts from a
separate seed stream), with nuisances and clean, where zero-shot means one text
embedding per vocabulary tag = normalised mean over templates x prompts.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from reelcat.synthetic.world import CONCEPTS, PHRASES, PROMPTS, SENSITIVE_CONCEPTS, render_sample

MODEL_NAME = "reelcat-tiny-clip"
MODEL_CONFIG: dict = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 64, "layers": 4, "width": 128, "head_width": 32, "patch_size": 8},
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 64, "heads": 4, "layers": 2},
}
DEFAULT_VOCABULARY = Path(__file__).resolve().parent.parent / "vocabularies" / "synthetic.yaml"
DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"

#: Render sizes (w, h): 16:9, 4:3 and 1:1 at a few scales.
TRAIN_SIZES: tuple[tuple[int, int], ...] = (
    (96, 54),
    (128, 72),
    (160, 90),
    (72, 54),
    (96, 72),
    (120, 90),
    (64, 64),
    (90, 90),
)
#: The nuisance mix used for training and for the "with nuisances" evaluation.
NUISANCE_P = 0.35
NUISANCE_STRENGTH = (0.2, 1.0)
#: How much more often blood and weapon are drawn for training.
SENSITIVE_WEIGHT = 2


# ----------------------------------------------------------------------------- model io


def write_config(out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{MODEL_NAME}.json"
    path.write_text(json.dumps(MODEL_CONFIG, indent=2) + "\n")
    return path


def load_model(models_dir: str | Path = DEFAULT_MODELS_DIR, device: str = "cpu"):
    """(model, preprocess, tokenizer) for the checkpoint in ``models_dir`` (eval mode)."""
    import open_clip

    models_dir = Path(models_dir)
    cfg = models_dir / f"{MODEL_NAME}.json"
    ckpt = models_dir / f"{MODEL_NAME}.pt"
    if not cfg.is_file() or not ckpt.is_file():
        raise FileNotFoundError(
            f"no {MODEL_NAME} checkpoint in {models_dir} (need {cfg.name} and {ckpt.name})"
        )
    open_clip.add_model_config(str(cfg))
    model, _, preprocess = open_clip.create_model_and_transforms(
        MODEL_NAME, pretrained=str(ckpt), device=device
    )
    model.eval()
    tokenizer = open_clip.get_tokenizer(MODEL_NAME)
    return model, preprocess, tokenizer


# ----------------------------------------------------------------------------- captions


def caption_pool() -> dict[str, list[str]]:
    """Every training caption per concept: templates x synonyms, plus free phrasings."""
    from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES, SIMPLE_IMAGENET_TEMPLATES

    templates = list(SIMPLE_IMAGENET_TEMPLATES) + list(OPENAI_IMAGENET_TEMPLATES)
    pool: dict[str, list[str]] = {}
    for c in CONCEPTS:
        caps = [tpl(p) for tpl in templates for p in PROMPTS[c]]
        # free phrasings, repeated so they make up about a quarter of the draws
        caps += list(PHRASES[c]) * max(1, len(caps) // (3 * len(PHRASES[c])))
        caps += list(PROMPTS[c])
        pool[c] = caps
    return pool


# ----------------------------------------------------------------------------- data


def _to_tensor_batch(frames: Sequence[np.ndarray], preprocess):
    import torch
    from PIL import Image

    return torch.stack([preprocess(Image.fromarray(f)) for f in frames])


def render_frames(
    concepts: Sequence[str],
    rng: np.random.Generator,
    *,
    nuisance_p: float = NUISANCE_P,
    strength: tuple[float, float] = NUISANCE_STRENGTH,
) -> list[np.ndarray]:
    frames = []
    for c in concepts:
        w, h = TRAIN_SIZES[int(rng.integers(len(TRAIN_SIZES)))]
        frames.append(render_sample(c, rng, (w, h), nuisance_p=nuisance_p, strength=strength))
    return frames


class _Batches:
    """Infinite stream of (images, token ids, labels); picklable for a DataLoader worker."""

    def __init__(
        self,
        seed: int,
        batch: int,
        preprocess,
        tokens,
        cap_index,
        nuisance_p: float,
        text_factor: int = 2,
    ):
        self.seed, self.batch, self.preprocess, self.text_factor = (
            seed,
            batch,
            preprocess,
            text_factor,
        )
        self.tokens, self.cap_index, self.nuisance_p = tokens, cap_index, nuisance_p

    def __iter__(self) -> Iterator:
        import torch

        info = torch.utils.data.get_worker_info()
        wid = info.id if info is not None else 0
        torch.set_num_threads(1)
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 1, wid]))
        n = len(CONCEPTS)
        # every concept equally often, sensitive ones twice as often (a moderation model
        # should rather over-flag them); the label-aware loss handles repeats in a batch
        deck = np.array(
            [
                i
                for i, c in enumerate(CONCEPTS)
                for _ in range(SENSITIVE_WEIGHT if c in SENSITIVE_CONCEPTS else 1)
            ]
        )
        while True:
            labels = np.concatenate(
                [rng.permutation(deck) for _ in range(math.ceil(self.batch / len(deck)))]
            )
            labels = labels[: self.batch]
            frames = render_frames([CONCEPTS[i] for i in labels], rng, nuisance_p=self.nuisance_p)
            images = _to_tensor_batch(frames, self.preprocess)
            # text is cheap next to images: draw more captions than images per step
            n_txt = self.batch * self.text_factor
            cap_labels = np.concatenate([rng.permutation(n) for _ in range(math.ceil(n_txt / n))])[
                :n_txt
            ]
            caps = [
                self.cap_index[i][int(rng.integers(len(self.cap_index[i])))] for i in cap_labels
            ]
            yield images, torch.as_tensor(labels), self.tokens[caps], torch.as_tensor(cap_labels)


class _IterDS(torch.utils.data.IterableDataset):
    def __init__(self, inner: _Batches):
        super().__init__()
        self.inner = inner

    def __iter__(self):
        return iter(self.inner)


def _label_aware_clip_loss(img, img_labels, txt, txt_labels, logit_scale):
    """CLIP's symmetric cross-entropy where every pair with the same concept is a positive."""
    import torch.nn.functional as F

    logits = logit_scale * img @ txt.t()
    same = (img_labels[:, None] == txt_labels[None, :]).float()

    def direction(pos, lg):
        n = pos.sum(1)
        has = n > 0  # rows whose concept has no partner in this batch are left out
        per_row = -((pos / n.clamp(min=1)[:, None]) * F.log_softmax(lg, 1)).sum(1)
        return per_row[has].mean()

    return (direction(same, logits) + direction(same.t(), logits.t())) / 2, logits


# ----------------------------------------------------------------------------- zero-shot eval


def zero_shot_weights(
    model, tokenizer, vocabulary_path: str | Path = DEFAULT_VOCABULARY, templates=None
):
    """(tag names, L2-normalised text embedding per tag): mean over templates x prompts."""
    import torch
    from open_clip.zero_shot_metadata import SIMPLE_IMAGENET_TEMPLATES

    from reelcat.tagging.vocabulary import load_vocabulary

    vocab = load_vocabulary(vocabulary_path)
    templates = list(templates or SIMPLE_IMAGENET_TEMPLATES)
    rows = []
    with torch.no_grad():
        for tag in vocab.tags:
            texts = [
                tpl(p) if callable(tpl) else tpl.format(p) for tpl in templates for p in tag.prompts
            ]
            emb = model.encode_text(tokenizer(texts), normalize=True)
            rows.append(torch.nn.functional.normalize(emb.mean(0), dim=0))
    return vocab.names, torch.stack(rows)


def evaluate(
    model,
    preprocess,
    tokenizer,
    *,
    per_concept: int = 30,
    seed: int = 12345,
    nuisance_p: float = NUISANCE_P,
    vocabulary_path: str | Path = DEFAULT_VOCABULARY,
    batch: int = 128,
) -> dict:
    """Zero-shot top-1 accuracy on fresh renders (a seed stream training never uses)."""
    import torch

    names, text = zero_shot_weights(model, tokenizer, vocabulary_path)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 99, 7]))
    labels = [c for c in CONCEPTS for _ in range(per_concept)]
    frames = render_frames(labels, rng, nuisance_p=nuisance_p)
    preds: list[int] = []
    model.eval()
    with torch.no_grad():
        for i in range(0, len(frames), batch):
            x = _to_tensor_batch(frames[i : i + batch], preprocess)
            emb = model.encode_image(x, normalize=True)
            preds += (emb @ text.t()).argmax(1).tolist()
    truth = [names.index(c) for c in labels]
    correct = np.array([p == t for p, t in zip(preds, truth, strict=True)])
    per = {
        c: float(correct[[i for i, lab in enumerate(labels) if lab == c]].mean()) for c in CONCEPTS
    }
    confusions: dict[str, int] = {}
    for p, t in zip(preds, truth, strict=True):
        if p != t:
            key = f"{names[t]} -> {names[p]}"
            confusions[key] = confusions.get(key, 0) + 1
    top = dict(sorted(confusions.items(), key=lambda kv: -kv[1])[:8])
    return {
        "accuracy": float(correct.mean()),
        "frames": len(labels),
        "per_concept": per,
        "top_confusions": top,
    }


# ----------------------------------------------------------------------------- training


def train(
    out_dir: str | Path,
    *,
    minutes: float = 5.0,
    steps: int | None = None,
    seed: int = 0,
    batch: int = 64,
    lr: float = 2e-3,
    workers: int = 1,
    nuisance_p: float = NUISANCE_P,
    eval_per_concept: int = 30,
    threads: int = 1,
    log=print,
) -> dict:
    import open_clip

    # one thread: on a small shared CPU, more threads fight the render worker and lose
    torch.set_num_threads(max(1, threads))
    torch.manual_seed(seed)
    out = Path(out_dir)
    cfg_path = write_config(out)
    open_clip.add_model_config(str(cfg_path))
    model, _, preprocess = open_clip.create_model_and_transforms(MODEL_NAME, pretrained=None)
    tokenizer = open_clip.get_tokenizer(MODEL_NAME)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"{MODEL_NAME}: {n_params / 1e6:.2f}M parameters")

    pool = caption_pool()
    all_caps: list[str] = []
    cap_index: list[list[int]] = []
    for c in CONCEPTS:
        cap_index.append(list(range(len(all_caps), len(all_caps) + len(pool[c]))))
        all_caps += pool[c]
    tokens = tokenizer(all_caps)
    log(f"{len(all_caps)} captions for {len(CONCEPTS)} concepts")

    stream = _Batches(seed, batch, preprocess, tokens, cap_index, nuisance_p)
    if workers > 0:
        loader = torch.utils.data.DataLoader(
            _IterDS(stream),
            batch_size=None,
            num_workers=workers,
            prefetch_factor=2,
            persistent_workers=False,
        )
        it = iter(loader)
    else:
        it = iter(stream)

    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    no_decay = [
        p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)
    ]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr,
        betas=(0.9, 0.98),
        eps=1e-6,
    )
    budget = minutes * 60.0
    warmup = 30 if steps is None else max(1, min(30, steps // 10))
    t0 = time.monotonic()
    step = 0
    ema = None
    model.train()
    while True:
        elapsed = time.monotonic() - t0
        frac = (step / steps) if steps is not None else (elapsed / budget)
        if frac >= 1.0:
            break
        for g in opt.param_groups:
            g["lr"] = (
                lr * min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0)))
            )
        images, img_labels, toks, txt_labels = next(it)
        img = model.encode_image(images, normalize=True)
        txt = model.encode_text(toks, normalize=True)
        loss, _ = _label_aware_clip_loss(img, img_labels, txt, txt_labels, model.logit_scale.exp())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        step += 1
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if step % 25 == 0 or step == 1:
            log(
                f"step {step:5d}  {time.monotonic() - t0:6.1f}s  loss {ema:.3f}  "
                f"scale {model.logit_scale.exp().item():.1f}"
            )
    train_s = time.monotonic() - t0
    del it
    model.eval()

    ckpt = out / f"{MODEL_NAME}.pt"
    tmp = out / f".{MODEL_NAME}.pt.tmp"
    torch.save({k: v.detach().half() for k, v in model.state_dict().items()}, tmp)
    os.replace(tmp, ckpt)
    log(
        f"trained {step} steps in {train_s:.0f}s; wrote {ckpt} ({ckpt.stat().st_size / 1e6:.1f} MB)"
    )

    # evaluate the saved checkpoint through the generic loading path
    res = report(out, seed=seed, per_concept=eval_per_concept, log=log)
    return {
        "steps": step,
        "train_seconds": train_s,
        "checkpoint": str(ckpt),
        "config": str(cfg_path),
        **res,
    }


def report(models_dir: str | Path, *, seed: int = 0, per_concept: int = 30, log=print) -> dict:
    """Held-out zero-shot accuracy of a saved checkpoint, with nuisances and clean.

    The held-out frames come from the seed stream ``seed + 1000`` (training never draws it).
    """
    model, preprocess, tokenizer = load_model(models_dir)
    res_n = evaluate(model, preprocess, tokenizer, per_concept=per_concept, seed=seed + 1000)
    res_c = evaluate(
        model, preprocess, tokenizer, per_concept=per_concept, seed=seed + 1000, nuisance_p=0.0
    )
    log(
        f"zero-shot top-1 on {res_n['frames']} held-out frames with nuisances: "
        f"{res_n['accuracy']:.3f}"
    )
    log(
        f"zero-shot top-1 on {res_c['frames']} held-out frames, clean:           "
        f"{res_c['accuracy']:.3f}"
    )
    log(
        "per concept (with nuisances): "
        + ", ".join(f"{k} {v:.2f}" for k, v in res_n["per_concept"].items())
    )
    log("top confusions: " + ", ".join(f"{k} x{v}" for k, v in res_n["top_confusions"].items()))
    return {
        "accuracy_nuisance": res_n["accuracy"],
        "accuracy_clean": res_c["accuracy"],
        "per_concept": res_n["per_concept"],
        "top_confusions": res_n["top_confusions"],
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m reelcat.synthetic.train", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument(
        "--out",
        default=str(DEFAULT_MODELS_DIR),
        help="directory for the .json config and .pt weights",
    )
    ap.add_argument(
        "--minutes",
        type=float,
        default=5.0,
        help="wall-clock training budget (ignored with --steps)",
    )
    ap.add_argument("--steps", type=int, default=None, help="train exactly this many steps")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--batch", type=int, default=64, help="images per step (captions: twice as many)"
    )
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="render processes (0 = render in the training process)",
    )
    ap.add_argument("--threads", type=int, default=1, help="torch threads for the training process")
    ap.add_argument(
        "--eval-per-concept",
        type=int,
        default=30,
        help="held-out frames per concept for the report",
    )
    ap.add_argument(
        "--eval-only",
        action="store_true",
        help="do not train: report the accuracy of the checkpoint in --out",
    )
    args = ap.parse_args(argv)
    if args.eval_only:
        torch.set_num_threads(max(1, args.threads))
        report(args.out, seed=args.seed, per_concept=args.eval_per_concept)
        return 0
    res = train(
        args.out,
        minutes=args.minutes,
        steps=args.steps,
        seed=args.seed,
        batch=args.batch,
        lr=args.lr,
        workers=args.workers,
        eval_per_concept=args.eval_per_concept,
        threads=args.threads,
    )
    print(json.dumps({k: v for k, v in res.items() if k not in ("per_concept",)}, indent=None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
