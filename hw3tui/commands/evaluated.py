"""A run's best checkpoint on its val set, evaluated once and kept in the run folder.

`cached_evaluation(run)` is what `report`, `plot` and `eval RUN` (default options) use: it reads
the evaluation stored under the checkpoint's key (`hw3tui.runs.evaluations`: the SHA-256 of
best/SHA256SUMS) and evaluates only when there is none to trust, then stores it. A stored
evaluation needs no torch: a second report of twenty runs imports none and evaluates nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from hw3tui.checkpoints.format import CheckpointError
from hw3tui.checkpoints.locate import locate
from hw3tui.errors import BadInput
from hw3tui.results.eval_report import EvalReport, Evaluated, Mistakes
from hw3tui.runs import RunDir
from hw3tui.runs import evaluations as stored

Evaluate = Callable[[RunDir], Evaluated]


def cached_evaluation(run: RunDir, *, evaluate: Evaluate | None = None) -> Evaluated:
    """The run's best checkpoint on its own val set, as `hw3tui eval RUN` scores it: the stored
    evaluation when there is one for this checkpoint, else `evaluate` (default: the engine, with
    a progress bar), then kept. `NoBestCheckpoint` when the run has none (yet); other bad input
    named after the run."""
    key = stored.checkpoint_key(run)
    if key is not None:
        found = stored.read_evaluation(run, key)
        done = _evaluated(run, found) if found is not None else None
        if done is not None:
            return done
    done = (evaluate or evaluate_run)(run)
    # kept only when best/ did not change under the evaluation (a live run saving a new best)
    if key is not None and stored.checkpoint_key(run) == key:
        # a folder that cannot be written (a classmate's, read-only; a full disk) costs only
        # time: the next report evaluates again
        with contextlib.suppress(OSError):
            stored.write_evaluation(run, key, _storable(done))
    return done


def evaluate_run(run: RunDir) -> Evaluated:
    """The engine's evaluation of the run's best checkpoint on its val set (torch, minutes on a
    big val set), with a progress bar."""
    from hw3tui.console.results_view import progress_bar
    from hw3tui.engine.inference import evaluation
    from hw3tui.errors import NoBestCheckpoint
    from hw3tui.runs import resolve_checkpoint

    try:
        target = resolve_checkpoint(run.path, run.path.parent)
        trained = evaluation.load_trained(target)
        with progress_bar(f"evaluating {run.name}") as seen:
            return evaluation.evaluate_in_full(trained, seen=seen)
    except NoBestCheckpoint:
        raise
    except BadInput as exc:
        raise BadInput(f"{run.name}: {exc}") from None


def _storable(done: Evaluated) -> stored.StoredEvaluation:
    mistakes = done.mistakes
    return stored.StoredEvaluation(
        report=done.report.as_json(),
        labels=list(done.labels),
        predicted=list(done.predicted),
        mistakes_true=list(mistakes.true),
        mistakes_predicted=list(mistakes.predicted),
        mistakes_total=mistakes.total,
        images=mistakes.images,
        val_set=done.val_set,
    )


def _evaluated(run: RunDir, found: stored.StoredEvaluation) -> Evaluated | None:
    try:
        report = EvalReport.from_json(found.report)
    except ValueError:
        return None
    # the folder may have been moved or renamed since: where it is now, not where it was
    report.run = run.name
    with contextlib.suppress(CheckpointError):
        report.checkpoint["source"] = locate(run.best_dir).describe()
    mistakes = Mistakes(
        images=found.images,
        true=found.mistakes_true,
        predicted=found.mistakes_predicted,
        total=found.mistakes_total,
    )
    return Evaluated(report, mistakes, found.labels, found.predicted, found.val_set)
