"""What `hw3tui eval` found: accuracy, loss, per-class accuracy and the confusion matrix.

A plain record (no torch): the engine fills it, the CLI prints it as tables, JSON or CSV, and the
TUI reads it back from `hw3tui eval --json`, which it runs in a child process.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hw3tui.untrusted import printable

if TYPE_CHECKING:
    import numpy as np

CONFUSED_PAIRS = 5
"""How many of the most frequent mistakes are listed."""


@dataclass(frozen=True)
class ClassResult:
    """One class: its images in the data, how many the model got right."""

    index: int
    name: str
    images: int
    correct: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.images if self.images else None


@dataclass(frozen=True)
class Confusion:
    """`count` images of class `true` predicted as class `predicted`."""

    true: str
    predicted: str
    count: int


@dataclass
class EvalReport:
    """One evaluation of one checkpoint on one labelled set of images."""

    classes: list[str]
    """The checkpoint's classes, in its output order."""
    confusion: list[list[int]]
    """confusion[true][predicted]: image counts."""
    accuracy: float
    loss: float | None
    checkpoint: dict[str, Any]
    """Where the checkpoint is and what it says about itself (backbone, epoch, metric, value)."""
    data: str
    """Which images: "the run's val set (...)" or the folder given with --data."""
    run: str | None = None
    recorded: dict[str, Any] | None = None
    """The run's own figures for the checkpoint's epoch (epoch, val_acc, val_loss), when the
    images are the run's own val set."""
    device: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def images(self) -> int:
        return sum(sum(row) for row in self.confusion)

    @property
    def correct(self) -> int:
        return sum(self.confusion[i][i] for i in range(len(self.classes)))

    def per_class(self) -> list[ClassResult]:
        return [
            ClassResult(i, name, sum(self.confusion[i]), self.confusion[i][i])
            for i, name in enumerate(self.classes)
        ]

    def most_confused(self, limit: int = CONFUSED_PAIRS) -> list[Confusion]:
        """The most frequent mistakes, most first (ties in class order)."""
        pairs = [
            Confusion(self.classes[t], self.classes[p], count)
            for t, row in enumerate(self.confusion)
            for p, count in enumerate(row)
            if t != p and count
        ]
        pairs.sort(key=lambda pair: -pair.count)
        return pairs[:limit]

    @property
    def matches_record(self) -> bool | None:
        """Whether the accuracy equals what the run recorded for this epoch (None: no record)."""
        recorded = (self.recorded or {}).get("val_acc")
        if not isinstance(recorded, int | float):
            return None
        return abs(float(recorded) - self.accuracy) < 1e-12

    def as_json(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "loss": self.loss,
            "images": self.images,
            "correct": self.correct,
            "classes": list(self.classes),
            "per_class": [
                {"class": c.name, "images": c.images, "correct": c.correct, "accuracy": c.accuracy}
                for c in self.per_class()
            ],
            "confusion": [list(row) for row in self.confusion],
            "checkpoint": dict(self.checkpoint),
            "data": self.data,
            "run": self.run,
            "recorded": self.recorded,
            "device": self.device,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvalReport:
        """Read back `as_json` (what `hw3tui eval --json` prints); ValueError if it is not."""
        try:
            classes = [str(c) for c in data["classes"]]
            confusion = [[int(n) for n in row] for row in data["confusion"]]
            loss = data.get("loss")
            report = cls(
                classes=classes,
                confusion=confusion,
                accuracy=float(data["accuracy"]),
                loss=float(loss) if isinstance(loss, int | float) else None,
                checkpoint=dict(data.get("checkpoint") or {}),
                data=str(data.get("data") or ""),
                run=str(data["run"]) if data.get("run") else None,
                recorded=data.get("recorded") if isinstance(data.get("recorded"), dict) else None,
                device=str(data.get("device") or ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not an hw3tui eval report ({exc})") from None
        if len(confusion) != len(classes) or any(len(row) != len(classes) for row in confusion):
            raise ValueError("not an hw3tui eval report (confusion matrix of the wrong size)")
        return report

    def csv_text(self) -> str:
        """One row per class: images, correct, accuracy, then its confusion-matrix row (one
        column per predicted class), and a last `all` row with the totals. Class names are
        escaped (`printable`): a CSV is read in terminals and spreadsheets."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        names = [printable(name) for name in self.classes]
        writer.writerow(["class", "images", "correct", "accuracy", *names])
        for name, result, row in zip(names, self.per_class(), self.confusion, strict=True):
            writer.writerow([name, result.images, result.correct, _cell(result.accuracy), *row])
        predicted = [sum(row[p] for row in self.confusion) for p in range(len(self.classes))]
        writer.writerow(["all", self.images, self.correct, _cell(self.accuracy), *predicted])
        return out.getvalue()


def _cell(value: float | None) -> str:
    return "" if value is None else repr(value)


@dataclass(frozen=True)
class Mistakes:
    """Some images the model got wrong, as it saw them (de-normalised), with both classes."""

    images: np.ndarray
    """uint8 (N, H, W, 3)."""
    true: list[str]
    predicted: list[str]
    total: int
    """How many images it got wrong in all."""


@dataclass(frozen=True)
class Evaluated:
    """One evaluation in full: the report, the misclassified examples, and every image's true
    and predicted class index (in data order, the checkpoint's class numbering)."""

    report: EvalReport
    mistakes: Mistakes
    labels: list[int]
    predicted: list[int]
    val_set: str = ""
    """A fingerprint of the evaluated split (SHA-256 of its labels and images): two evaluations
    with the same one ran on the same images in the same order ("" when not known)."""
