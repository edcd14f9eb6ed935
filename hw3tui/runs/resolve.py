"""What a RUN or CHECKPOINT argument names, for every command that takes one with `--runs-dir`.

    resolve_run("tiny-20260101-000000", runs_dir)        # resume, compare: a run, or NoSuchRun
    resolve("tiny-20260101-000000", runs_dir)            # verify, join: where the checkpoint is
    resolve_checkpoint("shared/resnet18_best.safetensors", runs_dir)   # eval, predict

A run is a folder (a path, or its name under `runs_dir`) with a status.json or a preset.yaml.
A checkpoint is a run folder, its best/ folder, a chunk prefix or a .safetensors file; one inside
a run's best/ brings its run along (eval then uses the run's preset and working directory).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hw3tui.checkpoints.format import CheckpointError
from hw3tui.checkpoints.locate import locate
from hw3tui.errors import NoSuchRun as NoSuchRun  # defined with its family
from hw3tui.runs.folder import DEFAULT_RUNS_DIR, RunDir


@dataclass(frozen=True)
class Target:
    """A checkpoint's path as the user meant it, and the run it belongs to when there is one."""

    checkpoint: Path
    """The run folder, its best/ folder, a chunk prefix or a .safetensors file."""
    run: RunDir | None


def find_run(name_or_path: str | Path, runs_dir: Path = DEFAULT_RUNS_DIR) -> RunDir | None:
    """A run by path, or by its folder name under `runs_dir`."""
    for candidate in (Path(name_or_path), runs_dir / str(name_or_path)):
        if (candidate / "status.json").is_file() or (candidate / "preset.yaml").is_file():
            return RunDir(candidate)
    return None


def resolve_run(name_or_path: str | Path, runs_dir: Path = DEFAULT_RUNS_DIR) -> RunDir:
    """The run named; `NoSuchRun` when there is none."""
    run = find_run(name_or_path, runs_dir)
    if run is None:
        raise NoSuchRun(f"{name_or_path}: no such run (a run folder, or a name under {runs_dir}/)")
    return run


def resolve(name_or_path: str | Path, runs_dir: Path = DEFAULT_RUNS_DIR) -> Target:
    """Where the named checkpoint is, without reading it (its reader checks and names what is
    wrong): a run, a folder under `runs_dir` that holds only a best/ (a classmate's), or the path
    as given."""
    run = find_run(name_or_path, runs_dir)
    if run is not None:
        return Target(run.path, run)
    path = Path(name_or_path)
    by_name = runs_dir / path
    if not os.path.lexists(path) and not path.is_absolute() and by_name.is_dir():
        return Target(by_name, None)
    return Target(path, _owner(path))


def resolve_checkpoint(name_or_path: str | Path, runs_dir: Path = DEFAULT_RUNS_DIR) -> Target:
    """Like `resolve`, and a checkpoint must be there: `NoSuchRun` for a bare name that names
    nothing, `CheckpointError` for a path that holds no checkpoint."""
    target = resolve(name_or_path, runs_dir)
    if target.run is not None:
        return target
    try:
        locate(target.checkpoint)
    except CheckpointError:
        path = target.checkpoint
        if not os.path.lexists(path) and len(path.parts) == 1:
            raise NoSuchRun(
                f"{name_or_path}: no such run (in {runs_dir}/) or checkpoint "
                "(a best/ folder, a chunk prefix or a .safetensors file)"
            ) from None
        raise
    return target


def _owner(path: Path) -> RunDir | None:
    """The run whose best/ holds `path` (the best/ folder itself, a chunk prefix or a file)."""
    folder = path if path.name == "best" else path.parent
    owner = folder.parent
    if folder.name == "best" and (owner / "status.json").is_file():
        return RunDir(owner)
    return None
