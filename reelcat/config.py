"""reelcat's configuration: one validated model, read from `reelcat.yaml`.

Precedence, lowest first: the defaults below (a real user's setup: ViT-B-32 with LAION
weights and the default vocabulary), the YAML file, environment variables
`REELCAT_<SECTION>_<FIELD>` (for example `REELCAT_MODEL_NAME`, `REELCAT_OUTPUT_DIR`,
`REELCAT_ARCHIVE_ROOTS` separated by `:`, never inside a URL's `://`), then explicit
overrides (CLI flags, Dagster run config). Relative paths resolve against the config
file's folder. An archive root may be an `s3://` or `gs://bucket/prefix` URL
(reelcat.storage.remote), kept as a string; so may the output (`output_dir`), which is
then `output_url` and `output_dir` this machine's mirror of it (reelcat.storage.mirror).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from reelcat.storage.mirror import mirror_dir
from reelcat.storage.remote import SCHEMES, is_url, scheme, split_roots

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_VOCABULARY = PACKAGE_DIR / "vocabularies" / "default.yaml"
ENV_PREFIX = "REELCAT_"
URL_FORMS = " or ".join(f"{s}://bucket/prefix" for s in SCHEMES)


class ConfigError(ValueError):
    """A configuration that cannot be used, with every reason in one message."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SamplingConfig(_Section):
    mode: Literal["auto", "interval", "keyframes", "scene"] = Field(
        "auto",
        description="auto: keyframes when they are dense enough, else every interval",
    )
    interval_seconds: float = Field(2.0, gt=0, description="one frame every N seconds")
    scene_threshold: float = Field(0.3, gt=0, lt=1, description="scene mode: change score")
    chunk_seconds: float = Field(600.0, gt=0, description="long videos are cut into chunks")
    thumbnail_width: int = Field(160, ge=32, le=640)

    @property
    def id(self) -> str:
        if self.mode == "scene":
            return f"scene{self.scene_threshold:g}-max{self.interval_seconds * 4:g}s"
        return f"{self.mode}{self.interval_seconds:g}s"


class ModelConfig(_Section):
    name: str = Field("ViT-B-32", description="open_clip model name")
    pretrained: str | None = Field(
        "laion2b_s34b_b79k", description="open_clip pretrained tag, or a local checkpoint path"
    )
    config_file: str | None = Field(
        None, description="open_clip model config JSON for a custom architecture"
    )
    random_weights: bool = Field(
        False, description="random initialisation: only for throughput measurement"
    )
    batch_size: int = Field(32, ge=1)
    device: str = Field("auto", description="auto, cpu or cuda")


def cache_dir() -> Path:
    """This machine's reelcat cache: $REELCAT_CACHE, else $XDG_CACHE_HOME/reelcat or
    ~/.cache/reelcat (encoder traces, mirrors of outputs in object storage)."""
    if os.environ.get("REELCAT_CACHE"):
        return Path(os.environ["REELCAT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "reelcat"


def file_digest(path: str) -> str:
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
        return f"{cfg.name}@{Path(cfg.pretrained).stem}-{file_digest(cfg.pretrained)}"
    return f"{cfg.name}@{cfg.pretrained}"


class RayConfig(_Section):
    address: str | None = Field(None, description="existing cluster; RAY_ADDRESS also works")
    decode_tasks: int = Field(2, ge=1, description="decode tasks in flight at once")
    embed_actors: int = Field(1, ge=1, description="CLIP actors in the pool")
    actor_cpus: float = Field(1.0, gt=0)
    actor_gpus: float = Field(0.0, ge=0)
    in_process_frames: int = Field(
        600,
        ge=0,
        description="with no cluster configured, an increment of at most this many frames "
        "to sample is decoded and embedded in the run's own process, without starting Ray "
        "(0: always Ray)",
    )
    stall_seconds: float = Field(
        600.0,
        gt=0,
        description="the embedding step fails, saying what it waited for, when no decode or "
        "embedding finishes for this long (a lost node, a cluster too small for the work)",
    )


class ScheduleConfig(_Section):
    cron: str = "0 2 * * *"
    enabled: bool = False


class Config(_Section):
    # local folders (Path) or object storage URLs (str, `s3://` or `gs://bucket/prefix`)
    archive_roots: list[Path | str] = Field(default_factory=list)
    # a file no longer found stays in the catalogue, status 'missing', this long
    keep_missing_days: float = Field(30.0, ge=0)
    # accept that a root that held videos is now missing, unreadable or empty: its videos
    # leave the catalogue (otherwise the run stops and keeps them, status 'missing')
    accept_missing_roots: bool = False
    # a run refuses to start with less free space than this in the output folder
    min_free_mb: float = Field(256.0, ge=0)
    output_dir: Path = Path("out")
    # an output in object storage (`output_dir: s3://` or `gs://bucket/prefix`): output_dir is
    # then this machine's mirror of it (reelcat.storage.mirror)
    output_url: str | None = None
    vocabulary: Path = DEFAULT_VOCABULARY
    sampling: SamplingConfig = SamplingConfig()
    model: ModelConfig = ModelConfig()
    ray: RayConfig = RayConfig()
    schedule: ScheduleConfig = ScheduleConfig()

    @property
    def output(self) -> Path | str:
        """Where the output is: the folder, or the object storage URL it is published to."""
        return self.output_url or self.output_dir

    @model_validator(mode="before")
    @classmethod
    def _output_in_object_storage(cls, data: Any) -> Any:
        if isinstance(data, dict) and is_url(data.get("output_dir")):
            url = data["output_dir"].rstrip("/")
            if scheme(url) not in SCHEMES or not url.partition("://")[2]:
                raise ValueError(f"{url}: an output URL must be {URL_FORMS}")
            data = {**data, "output_url": url, "output_dir": mirror_dir(url, cache_dir())}
        return data

    @field_validator("archive_roots", mode="before")
    @classmethod
    def _split_roots(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = split_roots(v)
        if not isinstance(v, list | tuple):
            return v
        roots = []
        for p in v:
            if is_url(p):
                root = p.rstrip("/")
                if scheme(p) not in SCHEMES or not root.partition("://")[2]:
                    raise ValueError(f"{p}: an archive root URL must be {URL_FORMS}")
                roots.append(root)
            else:
                roots.append(Path(p) if isinstance(p, str) else p)
        return roots


_SECTIONS = {
    "sampling": SamplingConfig,
    "model": ModelConfig,
    "ray": RayConfig,
    "schedule": ScheduleConfig,
}


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in ("archive_roots", "output_dir", "vocabulary", "keep_missing_days", "min_free_mb"):
        key = ENV_PREFIX + field.upper()
        if environ.get(key):
            out[field] = environ[key]
    for section, model in _SECTIONS.items():
        for field in model.model_fields:
            key = f"{ENV_PREFIX}{section.upper()}_{field.upper()}"
            if key in environ:
                out.setdefault(section, {})[field] = environ[key]
    return out


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Deep merge; a None in `top` means "not set" and keeps the base value."""
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict):
            merged[key] = _merge(
                merged.get(key) if isinstance(merged.get(key), dict) else {}, value
            )
        elif value is not None:
            merged[key] = value
    return merged


def _resolve_paths(cfg: Config, base: Path) -> Config:
    def fix(p: Path) -> Path:
        return p if p.is_absolute() else (base / p).resolve()

    cfg.archive_roots = [p if is_url(p) else fix(Path(p)) for p in cfg.archive_roots]
    cfg.output_dir = fix(cfg.output_dir)
    cfg.vocabulary = fix(cfg.vocabulary)
    for attr in ("pretrained", "config_file"):
        value = getattr(cfg.model, attr)
        if value and ("/" in value or value.endswith((".pt", ".bin", ".json", ".safetensors"))):
            setattr(cfg.model, attr, str(fix(Path(value))))
    return cfg


def load_config(
    path: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Config:
    """Read, merge and validate the configuration; raise ConfigError saying what is wrong."""
    environ = dict(os.environ if environ is None else environ)
    if path is None and environ.get("REELCAT_CONFIG"):
        path = environ["REELCAT_CONFIG"]
    if path is None and Path("reelcat.yaml").is_file():
        path = "reelcat.yaml"
    doc: dict[str, Any] = {}
    base = Path.cwd()
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            doc = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(doc, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        base = path.resolve().parent
    doc = _merge(doc, _env_overrides(environ))
    doc = _merge(doc, overrides or {})
    try:
        cfg = Config.model_validate(doc)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(
            f"invalid reelcat configuration ({path or 'defaults'}): {problems}"
        ) from None
    return _resolve_paths(cfg, base)
