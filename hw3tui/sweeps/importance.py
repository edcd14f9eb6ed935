"""Which axis mattered: Optuna's hyperparameter importance of a sweep's study.

The evaluator is **PED-ANOVA** (`PedAnovaImportanceEvaluator`): how differently each axis's
values are spread among the best trials than among all of them (Pearson divergence of their
Parzen densities). Chosen over fANOVA because fANOVA (and mean decrease impurity) fit a
scikit-learn random forest, a dependency hw3tui does not have, and fANOVA is slow past ~1,000
trials (NOTES); PED-ANOVA is numpy only and fast at any size.

"The best trials" are a top quantile: Optuna's default 10 %, but at least `TOP_TRIALS` of them
(PED-ANOVA's documentation asks for 5) and at most half, so that a CPU sweep of a dozen trials
compares its best 5 with all 12 rather than its single best with all. A trial is a configuration
(with `repeat: N`, one trial told its seeds' mean).

Direction: "best" depends on it. A `target` makes PED-ANOVA assume lower is better whatever the
study says (the bug of optuna-dashboard #1329: a maximized accuracy read as a loss). So the target
is always given, in "lower is better" form from the study's own direction: -value for a
maximized `val_acc`, value for a minimized `val_loss`.

Below `needed(axes)` completed trials the numbers are noise: the sentence says so and there are
no importances. The study is opened read-only where it lives (its journal, or its URL); Optuna is
imported here only.
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hw3tui.errors import one_line
from hw3tui.sweeps.folder import SweepDir
from hw3tui.sweeps.storage import journal_storage, open_storage, study_name
from hw3tui.untrusted import printable

if TYPE_CHECKING:
    import optuna

    from hw3tui.sweeps.model import Sweep

EVALUATOR = "PED-ANOVA"

TOP_TRIALS = 5
"""The fewest trials in PED-ANOVA's top quantile (its documentation's advice)."""

MIN_TRIALS = 4
"""The fewest completed trials importances are computed from, whatever the axes."""

IMPORTANCE_COLUMNS = ("axis", "importance", "evaluator")


def needed(axes: int) -> int:
    """Completed trials needed for `axes` varied axes: two per axis, and at least 4 (the top
    half of 3 trials is one trial: whichever axis values it has look decisive)."""
    return max(MIN_TRIALS, 2 * axes)


@dataclass(frozen=True)
class Importances:
    """A study's axis importances (largest first, summing to 1), or why there are none."""

    trials: int
    """Completed trials with a finite value (the ones the evaluator saw)."""
    direction: str
    """`maximize` or `minimize`, as the study was created."""
    evaluator: str = ""
    values: dict[str, float] = field(default_factory=dict)
    """Axis -> importance, largest first; empty when not computed (see `reason`)."""
    reason: str = ""
    """Why there are no importances (one sentence); empty when there are."""

    def sentence(self) -> str:
        """What the report and `plot` say about them."""
        if not self.values:
            return self.reason
        axis, share = next(iter(self.values.items()))
        return (
            f"By {self.evaluator} over {self.trials} completed trials ({self.direction}), "
            f"{printable(axis)} explains the most: {share:.0%} of the importance."
        )


def top_quantile(trials: int) -> float:
    """PED-ANOVA's top quantile for this many trials: 10 %, or `TOP_TRIALS` trials, at most
    half."""
    return min(0.5, max(0.1, TOP_TRIALS / trials))


def importances_of(study: optuna.Study) -> Importances:
    """The PED-ANOVA importances of `study`'s axes, in the study's direction."""
    import optuna
    from optuna.importance import PedAnovaImportanceEvaluator

    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    direction = "maximize" if maximize else "minimize"
    completed = [
        t
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if t.value is not None and math.isfinite(t.value)
    ]
    n = len(completed)
    axes = sorted(
        {name for t in completed for name, d in t.distributions.items() if not d.single()}
    )
    if not axes:
        return Importances(n, direction, reason="The sweep varies no axis: no importance.")
    if n < needed(len(axes)):
        return Importances(
            n,
            direction,
            reason=f"Only {n} completed trial{'s' if n != 1 else ''} for {len(axes)} "
            f"ax{'es' if len(axes) != 1 else 'is'}: importances need at least "
            f"{needed(len(axes))}, so none are computed (they would be noise).",
        )
    values = {t.value for t in completed}
    if len(values) == 1:
        return Importances(
            n,
            direction,
            reason=f"Every completed trial reached the same value ({next(iter(values)):.4g}): "
            "no axis explains a difference.",
        )
    sign = -1.0 if maximize else 1.0
    with warnings.catch_warnings():
        # PED-ANOVA warns that a target means "lower is better": that is what it is given
        warnings.simplefilter("ignore")
        found = optuna.importance.get_param_importances(
            study,
            evaluator=PedAnovaImportanceEvaluator(target_quantile=top_quantile(n)),
            params=axes,
            target=lambda t: sign * float(t.value if t.value is not None else math.nan),
        )
    ordered = dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))
    return Importances(n, direction, EVALUATOR, ordered)


def load_study(folder: SweepDir, sweep: Sweep) -> optuna.Study:
    """The sweep's study, where it lives; ValueError when there is none."""
    import optuna
    from optuna.storages import BaseStorage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if sweep.storage:
        storage: BaseStorage = open_storage(sweep.storage)
    elif folder.journal.is_file():
        storage = journal_storage(folder.journal)
    else:
        raise ValueError(f"no {folder.journal.name} in the sweep folder")
    names = optuna.study.get_all_study_names(storage)
    name = study_name(folder, sweep)
    if name not in names and not sweep.storage and len(names) == 1:
        name = names[0]  # made under the folder's name, then the folder was renamed
    if name not in names:
        raise ValueError(f"no study named {printable(name)} in its storage")
    return optuna.load_study(study_name=name, storage=storage)


def sweep_importances(folder: SweepDir) -> Importances:
    """The importances of the sweep in `folder`; a folder whose study cannot be read (moved,
    damaged, a database not reachable) gets the sentence saying so, never a traceback."""
    try:
        return importances_of(load_study(folder, folder.load_sweep()))
    except Exception as exc:  # a foreign or damaged study: the report goes on without it
        return Importances(0, "", reason=f"The sweep's study could not be read: {one_line(exc)}.")


def importances_text(found: Importances) -> str:
    """importances.csv: `axis,importance,evaluator`, largest first (only the header when there
    are none)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(IMPORTANCE_COLUMNS)
    for axis, share in found.values.items():
        writer.writerow([printable(axis), f"{share:.6g}", found.evaluator])
    return out.getvalue()
