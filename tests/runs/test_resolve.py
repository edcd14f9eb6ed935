"""One resolver of RUN|CHECKPOINT arguments: a run by path or name, a best/ folder, a chunk
prefix, a file; a checkpoint inside a run's best/ brings its run along."""

from __future__ import annotations

from pathlib import Path

import pytest

from hw3tui.checkpoints.format import CheckpointError
from hw3tui.runs import NoSuchRun, RunDir, Status, resolve, resolve_checkpoint, resolve_run

NAME = "resnet18_best.safetensors"


def make_run(runs_dir: Path, name: str = "tiny-20260101-000000") -> RunDir:
    run = RunDir(runs_dir / name)
    run.best_dir.mkdir(parents=True)
    run.write_status(Status(state="done"))
    (run.best_dir / f"{NAME}.000").write_bytes(b"chunk")  # located by name only: never read
    return run


def test_a_run_by_path_or_by_name_under_the_runs_folder(tmp_path: Path) -> None:
    run = make_run(tmp_path / "elsewhere")
    assert resolve_run(run.path).path == run.path
    assert resolve_run(run.name, tmp_path / "elsewhere").path == run.path
    for target in (resolve(run.name, tmp_path / "elsewhere"), resolve_checkpoint(run.path)):
        assert (target.checkpoint, target.run and target.run.path) == (run.path, run.path)
    with pytest.raises(NoSuchRun) as caught:
        resolve_run(run.name)  # not under ./runs
    assert str(caught.value) == f"{run.name}: no such run (a run folder, or a name under runs/)"


def test_a_checkpoint_inside_a_runs_best_brings_its_run(tmp_path: Path) -> None:
    run = make_run(tmp_path / "runs")
    for path in (run.best_dir, run.best_dir / NAME, run.best_dir / f"{NAME}.000"):
        target = resolve_checkpoint(str(path))
        assert target.checkpoint == path
        assert target.run is not None and target.run.path == run.path


def test_a_checkpoint_without_its_run(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / NAME).write_bytes(b"joined")
    target = resolve_checkpoint(tmp_path / "shared" / NAME)
    assert (target.checkpoint, target.run) == (tmp_path / "shared" / NAME, None)
    # a classmate's run folder holding only its best/, found by name under --runs-dir
    copied = tmp_path / "runs" / "theirs"
    (copied / "best").mkdir(parents=True)
    (copied / "best" / f"{NAME}.000").write_bytes(b"chunk")
    target = resolve_checkpoint("theirs", tmp_path / "runs")
    assert (target.checkpoint, target.run) == (copied, None)


def test_what_names_nothing_is_said_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(NoSuchRun) as caught:
        resolve_checkpoint("typo", tmp_path / "runs")
    assert str(caught.value) == (
        f"typo: no such run (in {tmp_path / 'runs'}/) or checkpoint "
        "(a best/ folder, a chunk prefix or a .safetensors file)"
    )
    with pytest.raises(CheckpointError, match="no such file, directory or chunk prefix"):
        resolve_checkpoint(tmp_path / "nothing" / NAME)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no checkpoint here"):
        resolve_checkpoint(tmp_path / "empty")
    # verify and join read (and name what is wrong) themselves: `resolve` only finds
    assert resolve("typo", tmp_path / "runs").checkpoint == Path("typo")
