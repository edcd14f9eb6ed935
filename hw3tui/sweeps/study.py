"""The sweep's Optuna study: storage, sampler, pruner, and each trial's axis values.

Optuna is imported here only, inside the functions, so that `hw3tui --help`, `validate` and the
sweep list never pay for it.

A grid is every combination put in Optuna's queue of waiting trials (`enqueue_trial`) when the
sweep starts: `Study.ask()` takes the next waiting trial in one storage transaction, which is
what lets several workers share one sweep without running a trial twice. Each worker, under the
folder's lock, enqueues the combinations the study does not hold yet (known by their values), so
a grid whose enqueueing was cut short (Ctrl-C, a kill) is completed by `sweep resume`.
(Optuna's GridSampler picks its grid points at random and, in its own words, lets simultaneous
workers pick the same one.) random and tpe ask Optuna's RandomSampler and TPESampler for new values.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hw3tui.errors import StorageError
from hw3tui.sweeps.file import LoadedSweep, flow_value
from hw3tui.sweeps.folder import SweepDir, read_leaderboard
from hw3tui.sweeps.model import Choice, HalvingPrune, IntRange, LogUniform, MedianPrune, values_of
from hw3tui.sweeps.storage import (
    FINGERPRINT_ATTR,
    fingerprint,
    journal_storage,
    open_storage,
    study_name,
)
from hw3tui.sweeps.storage import shown as shown_url
from hw3tui.untrusted import printable

if TYPE_CHECKING:
    import optuna

    from hw3tui.sweeps.patience import Patience

PRESET_AXIS = "preset"
"""The axis of a queue: which of its presets a trial runs."""
VARIANT_AXIS = "variant"
"""The axis of an ablation: which of its `variants` a trial runs (by name)."""


def open_study(
    folder: SweepDir, loaded: LoadedSweep, patience: Patience | None = None
) -> optuna.Study:
    """The sweep's own study in its storage, made (and marked as this sweep's) on first use;
    with `patience`, a database's every call waits out an outage (`hw3tui.sweeps.patience`).

    `StorageError` (exit 2) for a study another sweep made (its mark is not this sweep.yaml's
    `fingerprint`), and for a study missing from the storage once the sweep has trials (a
    wrong URL or a database reset: making a new, empty one would rerun them all). A study with
    no mark is one made before the mark existed: used as it is."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sweep = loaded.sweep
    sampler: optuna.samplers.BaseSampler = (
        optuna.samplers.TPESampler(seed=sweep.seed)
        if sweep.method == "tpe"
        else optuna.samplers.RandomSampler(seed=sweep.seed)
    )
    storage = storage_of(folder, loaded)
    if patience is not None and sweep.storage:  # a database (a URL or its RDBStorage)
        from hw3tui.sweeps.patience import PatientStorage

        # opening it does not wait: a wrong URL or password is said at once (the URL checks);
        # get_storage adds Optuna's cache in front of an RDB storage, as create_study would
        storage = PatientStorage(optuna.storages.get_storage(storage), patience)
    name, mine = study_name(folder, sweep), fingerprint(loaded.text)
    where = shown_url(sweep.storage) if sweep.storage else str(folder.journal)
    opened = {"storage": storage, "sampler": sampler, "pruner": _pruner(loaded)}
    if name not in optuna.study.get_all_study_names(storage):
        if _has_trials(folder):
            raise StorageError(
                f"{where}: no study {printable(name)}, yet {folder.path} has trials "
                "(a wrong storage URL, or a database that was reset?)"
            )
        try:
            study = optuna.create_study(
                study_name=name,
                direction="maximize" if loaded.monitor == "val_acc" else "minimize",
                **opened,
            )
            study.set_user_attr(FINGERPRINT_ATTR, mine)
            return study
        except optuna.exceptions.DuplicatedStudyError:
            pass  # another machine's worker made it a moment ago: checked as any other
    study = optuna.load_study(study_name=name, **opened)
    theirs = study.user_attrs.get(FINGERPRINT_ATTR)
    if theirs is not None and theirs != mine:
        raise StorageError(
            f"{where}: study {printable(name)} is another sweep's, not {folder.sweep_file}'s "
            "(a copy of that sweep's own sweep.yaml joins it)"
        )
    return study


def _has_trials(folder: SweepDir) -> bool:
    """Whether the sweep in `folder` has had trials: a leaderboard row or a run folder (not the
    workers' `.setup.lock` beside them)."""
    if read_leaderboard(folder)[1]:
        return True
    runs = folder.runs_dir
    return runs.is_dir() and any(not p.name.startswith(".") for p in runs.iterdir())


def storage_of(folder: SweepDir, loaded: LoadedSweep) -> Any:
    """A database URL from the sweep file, else the journal file in the sweep folder."""
    if loaded.sweep.storage:
        return open_storage(loaded.sweep.storage)
    return journal_storage(folder.journal)


def _pruner(loaded: LoadedSweep) -> optuna.pruners.BasePruner:
    import optuna

    prune = loaded.sweep.prune
    if isinstance(prune, MedianPrune):
        return optuna.pruners.MedianPruner(
            n_startup_trials=prune.median.after_trials, n_warmup_steps=prune.median.after_epochs
        )
    if isinstance(prune, HalvingPrune):
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=prune.halving.min_epochs, reduction_factor=prune.halving.factor
        )
    return optuna.pruners.NopPruner()


def combinations(loaded: LoadedSweep) -> Iterator[dict[str, str]]:
    """A grid's trials in order (the first preset of a queue first, the last axis fastest), as the
    values' YAML text Optuna stores; made one at a time, never the whole product."""
    space = _choices(loaded)
    for picks in _grid_indices(loaded):
        yield {name: space[name][i] for name, i in zip(space, picks, strict=True)}


def grid_trials(loaded: LoadedSweep) -> Iterator[tuple[str, dict[str, Any]]]:
    """A grid's trials in the same order, as `suggest` gives them: the preset each starts from
    and its axis values (no Optuna: `--print-commands`)."""
    axes = [(path, values_of(axis) or []) for path, axis in loaded.sweep.axes.items()]
    queue, variants = bool(loaded.sweep.presets), loaded.sweep.variants
    for picks in _grid_indices(loaded):
        start = loaded.starts[picks[0]] if queue else loaded.starts[0]
        chosen = picks[1:] if queue else picks
        params: dict[str, Any] = {}
        if variants:
            params, chosen = dict(variants[chosen[0]].set), chosen[1:]
        params |= {path: values[i] for (path, values), i in zip(axes, chosen, strict=True)}
        yield start, params


def _grid_indices(loaded: LoadedSweep) -> Iterator[tuple[int, ...]]:
    """Each planned combination as one index per axis (a queue's preset first), lazily: a grid
    of 100,000 with `trials: 3` makes 3."""
    sizes = [len(v) for v in _choices(loaded).values()]
    product = itertools.product(*(range(n) for n in sizes))
    return itertools.islice(product, loaded.sweep.planned())


def _choices(loaded: LoadedSweep) -> dict[str, list[str]]:
    """Each categorical axis's values as the YAML text Optuna stores (queue first)."""
    out: dict[str, list[str]] = {}
    if loaded.sweep.presets:
        out[PRESET_AXIS] = list(loaded.starts)
    if loaded.sweep.variants:
        out[VARIANT_AXIS] = [variant.name for variant in loaded.sweep.variants]
    for path, axis in loaded.sweep.axes.items():
        values = values_of(axis)
        if values is not None:
            out[path] = [flow_value(v) for v in values]
    return out


def enqueue_grid(
    study: optuna.Study, loaded: LoadedSweep, stop: Callable[[], bool] = lambda: False
) -> bool:
    """Put each combination of a grid that the study does not hold yet in its queue of waiting
    trials; False if `stop()` said so first (the next worker or `sweep resume` adds the rest).

    A trial is known by its grid values (queued or run, done or failed alike: it is never queued
    again), counted so that a value listed twice on an axis keeps both its trials."""
    if loaded.sweep.method != "grid":
        return True
    held = Counter(
        grid_point(frozen)
        for frozen in study.get_trials(deepcopy=False)
        if not frozen.user_attrs.get("surplus")  # a worker's ask() that found the queue empty
    )
    for params in combinations(loaded):
        point = _point(params)
        if held[point] > 0:
            held[point] -= 1
            continue
        if stop():
            return False
        study.enqueue_trial(params)
    return True


RETRY_OF = "retry_of"
"""The user attr of a trial queued by `sweep resume --retry-failed`: the number of the failed
trial it runs again."""


def retry_failed(study: optuna.Study) -> list[int]:
    """Queue every failed trial again with its own values (so its own seed) as a new trial; the
    numbers of the trials queued again. A trial retried once (by any worker) is not queued again
    (its retry, if it failed too, is); pruned trials and a worker's surplus asks never are."""
    import optuna

    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get(RETRY_OF) for t in trials}
    again = []
    for frozen in trials:
        if frozen.state != optuna.trial.TrialState.FAIL or frozen.user_attrs.get("surplus"):
            continue
        params = dict(frozen.params or frozen.system_attrs.get("fixed_params") or {})
        if frozen.number in retried or not params:
            continue  # retried already, or failed before it had values: nothing to run again
        study.enqueue_trial(params, user_attrs={RETRY_OF: frozen.number})
        again.append(frozen.number)
    return again


def grid_point(frozen: optuna.trial.FrozenTrial) -> tuple[tuple[str, str], ...]:
    """The grid values a trial was queued with (or ran with), comparable across trials."""
    return _point(frozen.system_attrs.get("fixed_params") or frozen.params)


def grid_copies(loaded: LoadedSweep) -> Counter[tuple[tuple[str, str], ...]]:
    """How many trials each grid point has in the plan (two where a value is listed twice)."""
    return Counter(_point(params) for params in combinations(loaded))


def _point(params: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in params.items()))


@contextlib.contextmanager
def first_worker(folder: SweepDir) -> Iterator[None]:
    """Workers starting together on one sweep set the study up one at a time: the lock lives in
    the run folders' parent, which the workers of every machine share (each machine has its
    own sweep folder). Where locks do not reach across machines, the worker that claims a
    second copy of a grid point drops it (`Worker._claim_new`)."""
    folder.runs_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder.setup_lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def suggest(trial: optuna.Trial, loaded: LoadedSweep) -> tuple[str, dict[str, Any]]:
    """The preset a trial starts from and its axis values (a queued grid trial's own values;
    Optuna's sampler's otherwise); an ablation's variant gives its `set` entries first."""
    choices = _choices(loaded)
    start = loaded.starts[0]
    if PRESET_AXIS in choices:
        start = str(trial.suggest_categorical(PRESET_AXIS, choices[PRESET_AXIS]))
    params: dict[str, Any] = {}
    if VARIANT_AXIS in choices:
        name = str(trial.suggest_categorical(VARIANT_AXIS, choices[VARIANT_AXIS]))
        params |= next(v.set for v in loaded.sweep.variants if v.name == name)
    for path, axis in loaded.sweep.axes.items():
        values = values_of(axis)
        if values is not None:
            texts = choices[path]
            picked = str(trial.suggest_categorical(path, texts))
            params[path] = values[texts.index(picked)]
        elif isinstance(axis, IntRange):
            params[path] = trial.suggest_int(path, *axis.int_)
        elif isinstance(axis, LogUniform):
            params[path] = trial.suggest_float(path, *axis.loguniform, log=True)
        else:
            assert not isinstance(axis, Choice)
            params[path] = trial.suggest_float(path, *axis.uniform)  # type: ignore[union-attr]
    return start, params


def shown(params: Mapping[str, Any]) -> dict[str, str]:
    """Axis values as the leaderboard writes them: spelled as in YAML (`null`, `true`), so that a
    row's `name=value` pasted into `--set` means the same value."""
    return {name: _shown_value(value) for name, value in params.items()}


def _shown_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
