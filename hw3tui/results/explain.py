"""Why B beat A: what `hw3tui compare A B --explain` prints and the report's per-pair section.

Two runs validated on the same images: what differs in their presets, their val acc epoch by
epoch, each class's accuracy at their best checkpoints (largest change first) and the val images
that flipped between them (A right and B wrong, A wrong and B right), by index in the val split.
The evaluations come from the engine (`evaluate_with_mistakes`: an `EvalReport` and every
image's true and predicted class); this module only reads them. Pure (no torch, no UI).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hw3tui.preset.yamlio import flow
from hw3tui.results.comparison import Comparison, FieldValues
from hw3tui.results.eval_report import EvalReport
from hw3tui.results.markdown import code, text
from hw3tui.untrusted import printable

SHOWN_PER_KIND = 12
"""Flipped images drawn per direction (right → wrong, wrong → right); all are counted."""


@dataclass(frozen=True)
class Evaluated:
    """One run's best checkpoint on its val set: the report, and each val image's true and
    predicted class (checkpoint class indices, in val-split order)."""

    report: EvalReport
    labels: Sequence[int]
    predicted: Sequence[int]
    val_set: str
    """The engine's fingerprint of the val split (`evaluation.fingerprint`)."""


@dataclass(frozen=True)
class ClassChange:
    """One class at A's and at B's best checkpoint."""

    name: str
    images: int
    before: int
    """Images of it A got right."""
    after: int
    """Images of it B got right."""

    @property
    def gained(self) -> int:
        return self.after - self.before

    @property
    def change(self) -> float | None:
        return self.gained / self.images if self.images else None


@dataclass(frozen=True)
class Flip:
    """A val image one run got right and the other wrong."""

    index: int
    """Its index in the val split."""
    true: str
    before: str
    """A's predicted class."""
    after: str
    """B's predicted class."""


@dataclass(frozen=True)
class Explanation:
    """A (the reference) against B, at their best checkpoints on their one val set."""

    names: tuple[str, str]
    data: str
    changes: list[FieldValues]
    epochs: list[tuple[int, float | None, float | None]]
    """(epoch, A's val acc, B's val acc) as recorded during training."""
    accuracy: tuple[float, float]
    correct: tuple[int, int]
    images: int
    classes: list[ClassChange]
    """Largest change in accuracy first."""
    broke: list[Flip]
    """Right → wrong: A got them right, B wrong."""
    fixed: list[Flip]
    """Wrong → right: A got them wrong, B right."""

    @property
    def delta(self) -> float:
        return self.accuracy[1] - self.accuracy[0]

    def headline(self) -> str:
        a, b = (printable(n) for n in self.names)
        if self.delta > 0:
            head = f"Why {b} beat {a}"
        elif self.delta < 0:
            head = f"Why {b} did not beat {a}"
        else:
            head = f"{b} and {a} tie"
        return head

    def summary(self) -> str:
        """One line of the numbers every other part adds up to."""
        (ra, rb), (aa, ab) = self.correct, self.accuracy
        return (
            f"best checkpoints on the same {self.images} val images: val acc {aa:.4f} → "
            f"{ab:.4f} ({self.delta:+.4f}), {ra} → {rb} right: {len(self.fixed)} wrong → right, "
            f"{len(self.broke)} right → wrong"
        )

    def lines(self, figure: str | None = None) -> list[str]:
        """The terminal's text (every name escaped)."""
        a, b = (printable(n) for n in self.names)
        out = [f"{self.headline()} (A = {a}, B = {b})", self.summary(), ""]
        out.append("Preset changes (A → B)")
        out += [
            f"  {printable(c.field)}: {_value(c.values[0])} → {_value(c.values[1])}"
            for c in self.changes
        ] or ["  none: the presets are equal"]
        out += ["", "Val acc per epoch (recorded in training)", "  epoch      A       B   B − A"]
        for epoch, before, after in self.epochs:
            diff = None if before is None or after is None else after - before
            out.append(f"  {epoch:5d}  {_num(before)}  {_num(after)}  {_num(diff, sign=True)}")
        out += ["", "Per-class accuracy at the best checkpoints (largest change first)"]
        width = max((len(printable(c.name)) for c in self.classes), default=5)
        out.append(f"  {'class':<{width}}  images      A       B  change")
        for c in self.classes:
            before, after = _rate(c.before, c.images), _rate(c.after, c.images)
            out.append(
                f"  {printable(c.name):<{width}}  {c.images:6d}  {_num(before)}  {_num(after)}  "
                f"{_num(c.change, sign=True)} ({c.gained:+d})"
            )
        out += ["", "Flipped val images (index in the val split: true class, A's → B's)"]
        out.append(f"  right → wrong: {len(self.broke)}{_listed(self.broke)}")
        out.append(f"  wrong → right: {len(self.fixed)}{_listed(self.fixed)}")
        if figure is not None:
            out.append(f"  figure: {printable(figure)}")
        return out

    def markdown(self, figure: str | None = None) -> list[str]:
        """The report's lines (a `### Why ...` subsection; `figure` a relative link target)."""
        a, b = (code(n) for n in self.names)
        out = [f"### {text(self.headline())}", "", f"A = {a}, B = {b}: {text(self.summary())}", ""]
        if self.changes:
            out += ["| preset field | A | B |", "|---|---|---|"]
            out += [
                f"| {code(c.field, in_table=True)} | {_cell(c.values[0])} | {_cell(c.values[1])} |"
                for c in self.changes
            ]
        else:
            out.append("The presets are equal.")
        out += ["", "| epoch | A val acc | B val acc | B − A |", "|---|---|---|---|"]
        for epoch, before, after in self.epochs:
            diff = None if before is None or after is None else after - before
            out.append(f"| {epoch} | {_num(before)} | {_num(after)} | {_num(diff, sign=True)} |")
        out += ["", "| class | images | A | B | change |", "|---|---|---|---|---|"]
        for c in self.classes:
            before, after = _rate(c.before, c.images), _rate(c.after, c.images)
            out.append(
                f"| {text(c.name)} | {c.images} | {_num(before)} | "
                f"{_num(after)} | {_num(c.change, sign=True)} ({c.gained:+d}) |"
            )
        out += [
            "",
            f"Flipped val images: {len(self.broke)} right → wrong, "
            f"{len(self.fixed)} wrong → right.",
            "",
        ]
        if figure is not None:
            out += [f"![flipped val images]({figure})", ""]
        return out

    def as_json(self, figure: str | None = None) -> dict[str, Any]:
        """What `compare --explain --json` prints."""
        return {
            "a": self.names[0],
            "b": self.names[1],
            "data": self.data,
            "images": self.images,
            "accuracy": {"a": self.accuracy[0], "b": self.accuracy[1], "delta": self.delta},
            "correct": {"a": self.correct[0], "b": self.correct[1]},
            "preset_changes": [
                {"field": c.field, "a": c.values[0], "b": c.values[1]} for c in self.changes
            ],
            "epochs": [
                {
                    "epoch": epoch,
                    "a": before,
                    "b": after,
                    "delta": None if before is None or after is None else after - before,
                }
                for epoch, before, after in self.epochs
            ],
            "per_class": [
                {
                    "class": c.name,
                    "images": c.images,
                    "correct": {"a": c.before, "b": c.after},
                    "accuracy": {"a": _rate(c.before, c.images), "b": _rate(c.after, c.images)},
                    "change": c.change,
                }
                for c in self.classes
            ],
            "flips": {
                "right_to_wrong": [_flip(f) for f in self.broke],
                "wrong_to_right": [_flip(f) for f in self.fixed],
            },
            "figure": figure,
        }


def val_set_problem(
    names: Sequence[str], comparison: Comparison, found: Sequence[Evaluated]
) -> str | None:
    """Why the two evaluations are not on one val set (None: they are), naming what differs."""
    a, b = (printable(n) for n in names)
    classes = [e.report.classes for e in found]
    if classes[0] != classes[1]:
        return (
            f"{a} and {b} have different classes ({_few(classes[0])} against {_few(classes[1])}): "
            "--explain compares runs on the same val set"
        )
    if found[0].val_set == found[1].val_set:
        return None
    counts = [len(e.labels) for e in found]
    causes = [
        f"{printable(c.field)} {_value(c.values[0])} → {_value(c.values[1])}"
        for c in comparison.changes()
        if c.field.startswith("data.") or c.field == "seed"
    ]
    why = "; ".join(causes) if causes else "the images differ"
    size = f"{counts[0]} and {counts[1]} images" if counts[0] != counts[1] else "the same count"
    return (
        f"{a} and {b} were validated on different images ({size}; {why}): --explain compares "
        "runs on the same val set"
    )


def explain(
    names: tuple[str, str], comparison: Comparison, a: Evaluated, b: Evaluated
) -> Explanation:
    """A against B (their val set checked equal first, with `val_set_problem`)."""
    classes = a.report.classes
    flips = [
        Flip(i, classes[t], classes[pa], classes[pb])
        for i, (t, pa, pb) in enumerate(zip(a.labels, a.predicted, b.predicted, strict=True))
        if (pa == t) != (pb == t)
    ]
    changes = [
        ClassChange(c.name, c.images, c.correct, after.correct)
        for c, after in zip(a.report.per_class(), b.report.per_class(), strict=True)
    ]
    changes.sort(key=lambda c: -abs(c.change) if c.change is not None else 1.0)
    epochs = [(epoch, values[0], values[1]) for epoch, values in comparison.epoch_rows("val_acc")]
    return Explanation(
        names=names,
        data=a.report.data,
        changes=comparison.changes(),
        epochs=epochs,
        accuracy=(a.report.accuracy, b.report.accuracy),
        correct=(a.report.correct, b.report.correct),
        images=len(a.labels),
        classes=changes,
        broke=[f for f in flips if f.before == f.true],
        fixed=[f for f in flips if f.after == f.true],
    )


def _flip(flip: Flip) -> dict[str, Any]:
    return {"index": flip.index, "true": flip.true, "a": flip.before, "b": flip.after}


def _listed(flips: Sequence[Flip], limit: int = 8) -> str:
    if not flips:
        return ""
    shown = ", ".join(
        f"#{f.index} {printable(f.true)}: {printable(f.before)} → {printable(f.after)}"
        for f in flips[:limit]
    )
    return f" ({shown}{', ...' if len(flips) > limit else ''})"


def _rate(correct: int, images: int) -> float | None:
    return correct / images if images else None


def _num(value: float | None, *, sign: bool = False) -> str:
    if value is None:
        return "     –"
    return f"{value:+.3f}" if sign else f"{value:6.3f}"


def _value(value: object) -> str:
    return "–" if value is None else printable(flow(value))


def _cell(value: object) -> str:
    return code("–" if value is None else flow(value), in_table=True)


def _few(classes: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(printable(c) for c in classes[:limit])
    return shown + (", ..." if len(classes) > limit else "")
