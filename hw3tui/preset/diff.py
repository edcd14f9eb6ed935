"""Field-level differences between two effective presets: "what did my classmate change?"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hw3tui.preset.io import effective
from hw3tui.preset.models import Preset
from hw3tui.preset.yamlio import flow


@dataclass(frozen=True)
class Change:
    field: str
    before: Any
    after: Any

    def __str__(self) -> str:
        return f"{self.field}: {flow(self.before)} → {flow(self.after)}"


def diff(a: Preset, b: Preset) -> list[Change]:
    """Every field whose value differs, defaults filled in, in preset order."""
    left, right = effective(a), effective(b)
    return [Change(key, left[key], right[key]) for key in left if left[key] != right[key]]
