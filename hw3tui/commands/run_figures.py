"""One run's figures, written into a folder: what `hw3tui plot` and `hw3tui report` share.

History figures (curves, schedules) come from the run's events through `hw3tui.runs`; the
confusion matrix, per-class bars and misclassified grid come from one evaluation of the best
checkpoint by the engine (`evaluate_in_full`, the same code and numbers as `hw3tui eval`), kept
in the run folder for the next report (`hw3tui.commands.evaluated`), handed to the torch-free
figure code in `hw3tui.results`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hw3tui.errors import NoBestCheckpoint
from hw3tui.preset.yamlio import flow
from hw3tui.results.comparison import RunSide, compare_runs, load_side
from hw3tui.results.figures import (
    FORMATS,
    Curve,
    Format,
    Size,
    comparison_figure,
    curves_figure,
    save_figure,
    schedules_figure,
)
from hw3tui.results.i18n import N_, _
from hw3tui.runs import RunDir

if TYPE_CHECKING:
    from hw3tui.results.eval_report import EvalReport, Evaluated

Evaluate = Callable[[RunDir], "Evaluated"]
"""The best checkpoint of a run on its val set, or `NoBestCheckpoint`."""

FIGURE_TITLES = {
    "curves": N_("loss and accuracy per epoch"),
    "schedules": N_("lr, batch size and weight decay as used"),
    "confusion": N_("confusion matrix of the best checkpoint (val set)"),
    "per_class": N_("per-class accuracy of the best checkpoint (val set)"),
    "misclassified": N_("misclassified val images"),
}
"""A report's caption of each figure (shown with `_(title)`: in the report's language)."""


@dataclass
class RunFigures:
    """The files written for one run, by kind, and what could not be drawn (and why)."""

    side: RunSide
    files: dict[str, Path] = field(default_factory=dict)
    remarks: list[str] = field(default_factory=list)
    accuracy: float | None = None
    """The best checkpoint's val accuracy as evaluated (None: not evaluated)."""
    evaluated: Evaluated | None = None
    """The best checkpoint on the val set with each image's prediction (None: not evaluated):
    for the per-class findings and the report's "Why B beat A"."""

    @property
    def evaluation(self) -> EvalReport | None:
        return None if self.evaluated is None else self.evaluated.report


def write_run_figures(
    side: RunSide,
    folder: Path,
    *,
    size: Size,
    fmt: Format,
    evaluate: Evaluate | None = None,
) -> RunFigures:
    """Draw `side`'s figures into `folder` (created). `evaluate` gives the best checkpoint's
    `(EvalReport, Mistakes)` or raises `NoBestCheckpoint` (None: skip the evaluation figures)."""
    from hw3tui.results import figures_eval

    folder.mkdir(parents=True, exist_ok=True)
    done = RunFigures(side)
    history, name = side.history, side.name
    if not history.epochs:
        done.remarks.append(_("no finished epoch yet: the figures show what there is"))
    done.files["curves"] = save_figure(
        curves_figure(history, size, name), folder / f"curves.{fmt}", size, fmt
    )
    done.files["schedules"] = save_figure(
        schedules_figure(history, size, name), folder / f"schedules.{fmt}", size, fmt
    )
    if evaluate is None:
        return done
    try:
        evaluated = evaluate(side.run)
    except NoBestCheckpoint:
        done.remarks.append(
            _("no best checkpoint: no confusion matrix, per-class accuracy or examples")
        )
        return done
    report, mistakes = evaluated.report, evaluated.mistakes
    done.accuracy, done.evaluated = report.accuracy, evaluated
    done.files["confusion"] = save_figure(
        figures_eval.confusion_figure(report, size, name), folder / f"confusion.{fmt}", size, fmt
    )
    done.files["per_class"] = save_figure(
        figures_eval.per_class_figure(report, size, name), folder / f"per_class.{fmt}", size, fmt
    )
    done.files["misclassified"] = save_figure(
        figures_eval.misclassified_figure(
            mistakes.images, mistakes.true, mistakes.predicted, size, name
        ),
        folder / f"misclassified.{fmt}",
        size,
        fmt,
    )
    return done


def evaluate_best(run: RunDir) -> Evaluated:
    """The run's best checkpoint on its val set, as `hw3tui eval` scores it, evaluated once per
    checkpoint and read back from the run folder after (`cached_evaluation`);
    `NoBestCheckpoint` when it has none (yet), other bad input named after the run."""
    from hw3tui.commands.evaluated import cached_evaluation

    return cached_evaluation(run)


def draw(
    runs: list[RunDir], out: Path, size: Size, fmt: str, *, evaluate: bool
) -> tuple[list[RunSide], list[RunFigures], Path | None]:
    """Every run's figures in `out/<run>/`, and the comparison in `out/` for several runs."""
    chosen = next(f for f in FORMATS if f == fmt)
    sides = [load_side(run) for run in runs]
    drawn = [
        write_run_figures(
            side,
            out / side.name,
            size=size,
            fmt=chosen,
            evaluate=evaluate_best if evaluate else None,
        )
        for side in sides
    ]
    comparison = None
    if len(sides) > 1:
        comparison = write_comparison(sides, out / f"val_acc.{chosen}", size=size, fmt=chosen)
    return sides, drawn, comparison


def differences(sides: Sequence[RunSide]) -> tuple[list[str], list[list[str]]]:
    """The preset fields that differ between the runs, and each run's values of them."""
    if len(sides) < 2:
        return [], [[] for _ in sides]
    changes = compare_runs([side.run for side in sides]).changes()
    fields = [c.field for c in changes]
    values = [[_value(c.values[i]) for c in changes] for i in range(len(sides))]
    return fields, values


def _value(value: object) -> str:
    return "–" if value is None else flow(value)


def write_comparison(
    sides: Sequence[RunSide], path: Path, *, size: Size, fmt: Format, metric: str = "val_acc"
) -> Path:
    """Every run's `metric` per epoch on one figure, each labelled by what differs."""
    fields, values = differences(sides)
    curves = []
    for side, row in zip(sides, values, strict=True):
        label = ", ".join(f"{f}={v}" for f, v in zip(fields, row, strict=True)) or side.name
        xs, ys = side.history.series(metric)
        curves.append(Curve(label, xs, ys))
    figure = comparison_figure(curves, size, metric=metric)
    return save_figure(figure, path, size, fmt)
