"""RUN|SWEEP arguments (`hw3tui plot`, `hw3tui report`): the runs they name. No torch."""

from __future__ import annotations

from pathlib import Path

from hw3tui.errors import BadInput
from hw3tui.runs import DEFAULT_RUNS_DIR, RunDir, find_run
from hw3tui.sweeps.folder import SweepDir


def runs_of(targets: tuple[str, ...], runs_dir: Path | None) -> list[RunDir]:
    """Each target's run (a folder, or a name under `runs_dir`); a sweep folder stands for its
    trials' runs. Bad input for a target that names neither, or a run named twice."""
    where = runs_dir or DEFAULT_RUNS_DIR
    runs: list[RunDir] = []
    for target in targets:
        run = find_run(target, where)
        if run is not None:
            runs.append(run)
            continue
        trials = SweepDir(Path(target)).runs_dir  # sweep.yaml's `runs`, maybe shared
        found = [find_run(p, where) for p in sorted(trials.iterdir())] if trials.is_dir() else []
        sweep = [r for r in found if r is not None]
        if not sweep:
            raise BadInput(f"{target}: no such run or sweep (in {where}/)")
        runs.extend(sweep)
    names = [r.name for r in runs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise BadInput(f"run {repeated[0]} is given twice")
    return runs


def sweeps_of(targets: tuple[str, ...], runs_dir: Path | None) -> list[Path]:
    """The targets that are sweep folders (not runs: a run is never a sweep): their paths, for
    the sweep figures of `plot` and `report`."""
    where = runs_dir or DEFAULT_RUNS_DIR
    return [
        Path(t)
        for t in targets
        if find_run(t, where) is None
        and (Path(t) / "sweep.yaml").is_file()
        and SweepDir(Path(t)).runs_dir.is_dir()
    ]
