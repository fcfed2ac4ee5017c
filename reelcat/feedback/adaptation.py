"""The adaptation file: the text bank moved by people's answers, and its id.

Tag scores computed with it carry the vocabulary id plus this id, so every score row
says what produced it.
"""

from __future__ import annotations

from reelcat.storage.layout import Layout
from reelcat.tagging.scoring import TextBank


def adaptation_id(layout: Layout) -> str | None:
    if layout.adaptation_id.exists() and layout.adaptation.exists():
        return layout.adaptation_id.read_text().strip()
    return None


def load_adapted_bank(layout: Layout) -> TextBank | None:
    return TextBank.from_npz(layout.adaptation) if layout.adaptation.exists() else None


def save_adaptation(layout: Layout, bank: TextBank, adaptation: str) -> None:
    layout.adaptation.parent.mkdir(parents=True, exist_ok=True)
    tmp = layout.adaptation.with_suffix(".tmp.npz")
    bank.to_npz(tmp)
    tmp.replace(layout.adaptation)
    layout.adaptation_id.write_text(adaptation)


def remove_adaptation(layout: Layout) -> None:
    layout.adaptation.unlink(missing_ok=True)
    layout.adaptation_id.unlink(missing_ok=True)
