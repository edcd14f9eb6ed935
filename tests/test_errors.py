"""One family of bad-input errors, caught once by the `hw3tui` group: exit 2 and its message,
one escaped line per problem, whatever the module that raised it."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from hw3tui import errors, exits
from hw3tui.checkpoints.locate import locate
from hw3tui.cli import LazyGroup, cli
from hw3tui.preset import PresetError
from hw3tui.preset.problems import Problem

WHERE_RAISED = {
    "hw3tui.engine.data.sources": "DataError",
    "hw3tui.engine.models": "WeightsError",
    "hw3tui.engine.hardware.runtime": "DeviceError",
    "hw3tui.engine.training.state": "StateError",
    "hw3tui.engine.training.recorder": "RunDirError",
    "hw3tui.engine.distributed.rank_errors": "DistributedError",
    "hw3tui.engine.inference.evaluation": "EvalError",
    "hw3tui.engine.inference.prediction": "ImagesError",
    "hw3tui.checkpoints.format": "CheckpointError",
    "hw3tui.results.report_folder": "ReportFolderError",
    "hw3tui.runs": "NoSuchRun",
}
"""Where each kind was defined before the family: the name still imports from there."""


@pytest.mark.parametrize("module, name", WHERE_RAISED.items())
def test_every_kind_of_bad_input_is_one_family(module: str, name: str) -> None:
    kind = getattr(importlib.import_module(module), name)
    assert kind is getattr(errors, name)
    assert issubclass(kind, errors.BadInput)
    assert issubclass(kind, ValueError)  # as before: `except ValueError` still catches it


def test_presets_and_locked_runs_are_bad_input_but_no_value_error() -> None:
    from hw3tui.runs import RunLocked

    for kind in (PresetError, RunLocked):
        assert issubclass(kind, errors.BadInput)
        assert not issubclass(kind, ValueError)


def test_one_line_is_the_first_line_or_the_class_name() -> None:
    assert errors.one_line(ValueError("\n  first\nsecond\n")) == "first"
    assert errors.one_line(KeyError()) == "KeyError"
    assert errors.one_line(RuntimeError("   ")) == "RuntimeError"


def test_exit_codes_of_a_run_that_ended() -> None:
    assert [exits.of_state(s) for s in ("done", "failed", "cancelled", "running", "")] == [
        0,
        1,
        130,
        1,
        1,
    ]
    assert (exits.OK, exits.FAILED, exits.BAD_INPUT, exits.CANCELLED) == (0, 1, 2, 130)


def _with_command(monkeypatch: pytest.MonkeyPatch, raised: Exception) -> None:
    @click.command()
    def boom() -> None:
        raise raised

    monkeypatch.setattr(LazyGroup, "_load", staticmethod(lambda name: boom))


def test_the_group_shows_any_bad_input_escaped_on_one_line_with_exit_2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _with_command(monkeypatch, errors.DataError("data/\x1b[2Jcat: an empty class folder"))
    result = CliRunner().invoke(cli, ["boom"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "error: data/\\x1b[2Jcat: an empty class folder\n"


def test_the_group_shows_a_presets_problems_one_located_line_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    problems = [Problem("p.yaml", "unknown key", "data.trian", 3, 1), Problem("p.yaml", "empty")]
    _with_command(monkeypatch, PresetError(problems))
    result = CliRunner().invoke(cli, ["boom"])
    assert result.exit_code == 2
    assert result.stderr == "p.yaml:3:1: data.trian: unknown key\nerror: p.yaml: empty\n"


def test_other_exceptions_are_not_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    _with_command(monkeypatch, RuntimeError("a bug"))
    result = CliRunner().invoke(cli, ["boom"])
    assert result.exit_code == 1
    assert isinstance(result.exception, RuntimeError)


def test_a_run_without_a_best_checkpoint_is_told_by_type(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "status.json").write_text(json.dumps({"state": "running"}))
    with pytest.raises(errors.NoBestCheckpoint, match="no best checkpoint"):
        locate(run)
    (tmp_path / "empty").mkdir()
    with pytest.raises(errors.CheckpointError) as raised:
        locate(tmp_path / "empty")  # no checkpoint, and no run either
    assert not isinstance(raised.value, errors.NoBestCheckpoint)


def test_a_checkpoints_chunks_are_listed_in_cat_order(tmp_path: Path) -> None:
    for name in ["m.safetensors.010", "m.safetensors.000", "m.safetensors.001", "SHA256SUMS"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "m.safetensors.bak").write_bytes(b"x")
    source = locate(tmp_path / "m.safetensors.000")
    assert source.chunks() == ["m.safetensors.000", "m.safetensors.001", "m.safetensors.010"]
