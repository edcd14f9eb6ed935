"""A sweep's figures into a folder: what `hw3tui plot SWEEP` and `hw3tui report SWEEP` add.

In `DIR/<sweep>/`: `axes/<axis>.FORMAT` (each run's best value against the axis), and from the
study `importances.csv` (`axis,importance,evaluator`; only the header when there are none) and
`importances.FORMAT` when there are importances. No torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hw3tui.atomic import write_text_atomic
from hw3tui.errors import one_line
from hw3tui.preset import PresetError
from hw3tui.results.figures import FORMATS, Size, save_figure
from hw3tui.sweeps.folder import SweepDir
from hw3tui.sweeps.importance import Importances, importances_text, sweep_importances

IMPORTANCES_CSV = "importances.csv"


@dataclass
class SweepFigures:
    """What was written for one sweep (paths by title) and what it says."""

    name: str
    figures: list[tuple[str, Path]] = field(default_factory=list)
    """(title, file): one per axis, then the importances."""
    table: Path | None = None
    """importances.csv."""
    sentences: list[str] = field(default_factory=list)
    """What the figures show, or why one is missing."""


def draw_sweep(path: Path, out: Path, size: Size, fmt: str) -> SweepFigures:
    """The per-axis figures and the importances of the sweep at `path` into `out/<sweep>/`."""
    from hw3tui.results.sweep_figures import axis_figure, importances_figure
    from hw3tui.sweeps.analysis import file_stem, sweep_axes

    chosen = next(f for f in FORMATS if f == fmt)
    folder = SweepDir(path)
    done = SweepFigures(folder.name)
    base = out / folder.name
    try:
        data = sweep_axes(folder)
    except (OSError, ValueError, PresetError) as exc:
        done.sentences.append(f"Its sweep.yaml cannot be read ({one_line(exc)}): no sweep figures.")
        return done
    (base / "axes").mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    for axis in data.axes:
        figure = axis_figure(
            axis, size, metric=data.monitor, higher_is_better=data.higher_is_better
        )
        file = base / "axes" / f"{file_stem(axis.axis, taken)}.{chosen}"
        done.figures.append((f"best {data.monitor} against {axis.axis}", file))
        save_figure(figure, file, size, chosen)
    if data.axes:
        done.sentences.append(
            f"Each of its {data.runs} runs with a value, by its best {data.monitor}, against each "
            f"of the {len(data.axes)} axes."
        )
    found = sweep_importances(folder)
    done.table = base / IMPORTANCES_CSV
    write_text_atomic(done.table, importances_text(found))
    done.sentences.append(found.sentence())
    if found.values:
        done.figures.append(
            (
                _importance_title(found),
                save_figure(
                    importances_figure(
                        list(found.values.items()),
                        size,
                        evaluator=found.evaluator,
                        trials=found.trials,
                    ),
                    base / f"importances.{chosen}",
                    size,
                    chosen,
                ),
            )
        )
    return done


def _importance_title(found: Importances) -> str:
    return f"hyperparameter importance ({found.evaluator})"
