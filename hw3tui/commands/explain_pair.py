"""Why B beat A, for `hw3tui compare A B --explain` and the report: the engine's evaluations of
both best checkpoints turned into an `Explanation`, and the figure of the flipped images.

Each run's best checkpoint is evaluated on its own val set the way `hw3tui eval` does
(`run_figures.evaluate_best`); the report hands in the evaluations it already made for its
figures. The flipped images are read again as each model saw them (`evaluation.images_seen`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hw3tui.errors import BadInput
from hw3tui.results.comparison import Comparison, RunSide
from hw3tui.results.explain import SHOWN_PER_KIND, Evaluated, Explanation, Flip, explain
from hw3tui.results.explain import val_set_problem as _problem
from hw3tui.runs import RunDir

if TYPE_CHECKING:
    import numpy as np

    from hw3tui.results import eval_report
    from hw3tui.results.figures import Format, Size


class DifferentValSets(BadInput):
    """Two runs that were not validated on the same images: nothing to flip between them."""


def evaluated(found: eval_report.Evaluated) -> Evaluated:
    """An evaluation in full (the engine's, or the one stored in the run folder) as
    `hw3tui.results.explain` reads it."""
    return Evaluated(found.report, found.labels, found.predicted, found.val_set)


def evaluate_run(run: RunDir) -> Evaluated:
    """The run's best checkpoint on its val set (bad input when it has none)."""
    from hw3tui.commands.run_figures import evaluate_best

    return evaluated(evaluate_best(run))


def explain_pair(sides: tuple[RunSide, RunSide], found: tuple[Evaluated, Evaluated]) -> Explanation:
    """A (the first) against B; `DifferentValSets` naming why when their val sets differ."""
    names = (sides[0].name, sides[1].name)
    comparison = Comparison(list(sides))
    problem = _problem(names, comparison, found)
    if problem is not None:
        raise DifferentValSets(problem)
    return explain(names, comparison, *found)


def draw_flips(
    explanation: Explanation,
    runs: tuple[RunDir, RunDir],
    path: Path,
    *,
    size: Size,
    fmt: Format,
) -> Path:
    """The flipped images (some of each kind) into `path`: right → wrong as B saw them,
    wrong → right as A saw them."""
    from hw3tui.results.figures import plain, save_figure
    from hw3tui.results.figures_eval import flips_figure

    broke = explanation.broke[:SHOWN_PER_KIND]
    fixed = explanation.fixed[:SHOWN_PER_KIND]
    figure = flips_figure(
        _seen(runs[1], broke),
        [_caption(f) for f in broke],
        _seen(runs[0], fixed),
        [_caption(f) for f in fixed],
        (len(explanation.broke), len(explanation.fixed)),
        size,
        f"{plain(explanation.names[0], 30)} → {plain(explanation.names[1], 30)}",
    )
    return save_figure(figure, path, size, fmt)


def _caption(flip: Flip) -> str:
    from hw3tui.results.figures import plain

    before, after = plain(flip.before, 10), plain(flip.after, 10)
    return f"#{flip.index} {plain(flip.true, 12)}\nA {before} → B {after}"


def _seen(run: RunDir, flips: list[Flip]) -> np.ndarray:
    """The run's val images at the flips' indices, as its best checkpoint's model saw them."""
    import numpy as np

    if not flips:
        return np.zeros((0, 1, 1, 3), dtype=np.uint8)
    from hw3tui.engine.inference import evaluation
    from hw3tui.runs import resolve_checkpoint

    try:
        trained = evaluation.load_trained(resolve_checkpoint(run.path, run.path.parent))
        return evaluation.images_seen(trained, [f.index for f in flips])
    except BadInput as exc:
        raise BadInput(f"{run.name}: {exc}") from None
