"""The tag vocabulary: one YAML file of tags, their prompts, category and thresholds.

Format::

    tags:
      - name: beach                  # the tag as people read it
        category: scene              # free text; `sensitive` marks moderation concepts
        prompts: [beach, sandy shore by the sea]   # synonyms; open_clip templates wrap them
        negatives: [desert]          # optional: things it is confused with
        accept: 0.6                  # optional: calibrated score above which it is shown
        review: 0.4                  # optional: lower edge of the "ask a person" band
        min_seconds: 4               # optional, sensitive tags: how long a segment must
                                     # hold to send its video to review (default 0)

The vocabulary id is the file stem plus a hash of its content, so every score row says
exactly which vocabulary produced it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

SENSITIVE = "sensitive"


class VocabularyError(ValueError):
    """A vocabulary file that cannot be used, with the reason."""


@dataclass(frozen=True)
class Tag:
    name: str
    category: str
    prompts: tuple[str, ...]
    negatives: tuple[str, ...] = ()
    accept: float | None = None
    review: float | None = None
    min_seconds: float = 0.0

    @property
    def sensitive(self) -> bool:
        return self.category == SENSITIVE


@dataclass(frozen=True)
class Vocabulary:
    id: str
    tags: tuple[Tag, ...]
    background: tuple[str, ...] = field(default=())

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tags]

    def tag(self, name: str) -> Tag:
        for t in self.tags:
            if t.name == name:
                return t
        raise KeyError(f"unknown tag {name!r}; the vocabulary {self.id} has {len(self.tags)} tags")


DEFAULT_BACKGROUND = ("something", "an object", "a scene", "a picture", "a blurry image")


def load_vocabulary(path: str | Path) -> Vocabulary:
    path = Path(path)
    if not path.is_file():
        raise VocabularyError(f"vocabulary file not found: {path}")
    text = path.read_text()
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise VocabularyError(f"{path}: not valid YAML: {exc}") from exc
    raw_tags = doc.get("tags")
    if not isinstance(raw_tags, list) or not raw_tags:
        raise VocabularyError(f"{path}: needs a non-empty list under 'tags'")
    tags: list[Tag] = []
    seen: set[str] = set()
    for i, item in enumerate(raw_tags):
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not item.get("name"):
            raise VocabularyError(f"{path}: tag #{i + 1} needs a 'name'")
        name = str(item["name"]).strip()
        if name in seen:
            raise VocabularyError(f"{path}: tag {name!r} appears twice")
        seen.add(name)
        prompts = tuple(str(p) for p in item.get("prompts") or [name])
        accept, review = item.get("accept"), item.get("review")
        if accept is not None and review is not None and review > accept:
            raise VocabularyError(f"{path}: tag {name!r} has review {review} above accept {accept}")
        min_seconds = item.get("min_seconds", 0)
        if not isinstance(min_seconds, (int, float)) or min_seconds < 0:
            raise VocabularyError(
                f"{path}: tag {name!r} has min_seconds {min_seconds!r}; "
                "it must be a number of seconds, 0 or more"
            )
        tags.append(
            Tag(
                name=name,
                category=str(item.get("category", "general")),
                prompts=prompts,
                negatives=tuple(str(n) for n in item.get("negatives") or []),
                accept=None if accept is None else float(accept),
                review=None if review is None else float(review),
                min_seconds=float(min_seconds),
            )
        )
    background = tuple(doc.get("background") or DEFAULT_BACKGROUND)
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return Vocabulary(id=f"{path.stem}-{digest}", tags=tuple(tags), background=background)
