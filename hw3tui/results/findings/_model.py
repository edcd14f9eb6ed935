"""A finding: one sentence, and every number in it with where it comes from.

A number is read from one place of a run or sweep folder (`source`), or derived from other
numbers (`derived` names the arithmetic, `from` lists its operands, each a number of its own):

    {"value": 0.726,
     "source": {"run": "tiny-…", "event": "epoch_end", "epoch": 8, "field": "val_acc"}}
    {"value": 0.0125, "derived": "difference", "from": [{...}, {...}]}   # from[0] - from[1]
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from hw3tui.results.i18n import N_

Derivation = Literal["difference", "mean", "std", "ratio", "count", "interval low", "interval high"]

SECTIONS = (
    N_("Which epoch is kept"),
    N_("Overfitting"),
    N_("Schedules"),
    N_("Optimizer and augmentation"),
    N_("Per class"),
    N_("Ablation"),
)
"""The homework's order: findings are listed (terminal, JSON, report.md) by section, then as
found. In English in `--json` (a key to match on); shown with `_(section)`."""


@dataclass(frozen=True)
class Number:
    """One number of a sentence: its value and where it was read (or what it is computed from)."""

    value: float
    source: Mapping[str, Any] | None = None
    derived: Derivation | None = None
    operands: tuple[Number, ...] = ()

    def as_json(self) -> dict[str, Any]:
        if self.source is not None:
            return {"value": self.value, "source": dict(self.source)}
        return {
            "value": self.value,
            "derived": self.derived,
            "from": [n.as_json() for n in self.operands],
        }


def difference(a: Number, b: Number) -> Number:
    """a - b."""
    return Number(a.value - b.value, derived="difference", operands=(a, b))


def ratio(a: Number, b: Number) -> Number:
    """a / b (b is not 0)."""
    return Number(a.value / b.value, derived="ratio", operands=(a, b))


def mean(numbers: Sequence[Number]) -> Number:
    """The mean of `numbers` (one number: itself)."""
    if len(numbers) == 1:
        return numbers[0]
    value = math.fsum(n.value for n in numbers) / len(numbers)
    return Number(value, derived="mean", operands=tuple(numbers))


def std(numbers: Sequence[Number]) -> Number:
    """The sample standard deviation (ddof 1) of two numbers or more."""
    return Number(
        statistics.stdev(n.value for n in numbers), derived="std", operands=tuple(numbers)
    )


@dataclass(frozen=True)
class Finding:
    """One sentence about a run, a group of runs or a sweep."""

    section: str
    """One of `SECTIONS`."""
    kind: str
    """What the sentence says (`kept`, `overfitting`, `schedule change`, ...): one sentence
    function of `_sentences` per kind."""
    subject: str
    """The run, configuration or sweep it is about (a folder name: someone else's text)."""
    sentence: str
    numbers: dict[str, Number] = field(default_factory=dict)
    """Every number in the sentence, by its name."""
    facts: dict[str, Any] = field(default_factory=dict)
    """What else the sentence quotes, as data: preset fields that differ, class names."""

    def as_json(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "kind": self.kind,
            "subject": self.subject,
            "sentence": self.sentence,
            "numbers": {name: n.as_json() for name, n in self.numbers.items()},
            **({"facts": self.facts} if self.facts else {}),
        }


def in_order(findings: Sequence[Finding]) -> list[Finding]:
    """By section in the homework's order, stable within a section."""
    return sorted(findings, key=lambda f: SECTIONS.index(f.section))
