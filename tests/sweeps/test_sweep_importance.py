"""Hyperparameter importance of a sweep's study (issue 23): constructed studies, no training."""

from __future__ import annotations

import math

import optuna
import pytest

from hw3tui.sweeps.analysis import file_stem
from hw3tui.sweeps.folder import SweepDir
from hw3tui.sweeps.importance import importances_of, importances_text, needed, sweep_importances

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study(direction: str, n: int, value, *, axes=("x", "y")) -> optuna.Study:
    """An in-memory study of `n` random trials whose value is `value(params)`."""
    study = optuna.create_study(direction=direction, sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(lambda t: value({a: t.suggest_float(a, 0.0, 1.0) for a in axes}), n_trials=n)
    return study


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_a_decisive_axis_comes_first_and_importances_sum_to_one(direction: str) -> None:
    study = _study(direction, 30, lambda p: p["x"], axes=("x", "y", "z"))
    found = importances_of(study)
    assert found.evaluator == "PED-ANOVA"
    assert next(iter(found.values)) == "x"
    assert math.isclose(sum(found.values.values()), 1.0)
    assert found.values["x"] > 0.5  # more than every other axis together
    assert "x explains the most" in found.sentence()


def _two_regimes(p: dict[str, float]) -> float:
    """Low values are decided by a; high values by b."""
    return p["a"] if p["a"] < 0.5 else 0.5 + 0.5 * p["b"]


@pytest.mark.parametrize(("direction", "first"), [("minimize", "a"), ("maximize", "b")])
def test_importances_respect_the_direction(direction: str, first: str) -> None:
    """PED-ANOVA looks at the best trials: a minimized study's best are decided by `a`, a
    maximized one's by `b` (optuna-dashboard #1329 read every study as minimized)."""
    study = _study(direction, 200, _two_regimes, axes=("a", "b"))
    found = importances_of(study)
    assert found.evaluator == "PED-ANOVA"
    assert found.direction == direction
    assert next(iter(found.values)) == first
    assert math.isclose(sum(found.values.values()), 1.0)


def test_too_few_trials_give_a_sentence_and_no_importances() -> None:
    study = _study("maximize", needed(2) - 1, lambda p: p["x"])
    found = importances_of(study)
    assert found.values == {}
    assert found.sentence().startswith(f"Only {needed(2) - 1} completed trials for 2 axes")
    assert importances_text(found) == "axis,importance,evaluator\n"


def test_equal_values_explain_nothing() -> None:
    found = importances_of(_study("maximize", 8, lambda p: 0.5))
    assert found.values == {}
    assert "same value" in found.sentence()


def test_importances_csv_lists_axes_largest_first() -> None:
    found = importances_of(_study("maximize", 20, lambda p: p["y"]))
    lines = importances_text(found).splitlines()
    assert lines[0] == "axis,importance,evaluator"
    assert lines[1].startswith("y,") and lines[1].endswith(",PED-ANOVA")


def test_a_sweep_whose_study_is_gone_gets_a_sentence(tmp_path) -> None:
    folder = SweepDir(tmp_path / "s-20261206-120000")
    (folder.path / "runs").mkdir(parents=True)
    folder.sweep_file.write_text("name: s\nbase: tiny\naxes: {schedule.lr: [0.1, 0.01]}\n")
    found = sweep_importances(folder)
    assert found.values == {}
    assert (
        found.sentence()
        == "The sweep's study could not be read: no optuna.journal in the sweep folder."
    )
    assert not folder.journal.exists()  # reading never creates a study


def test_an_axis_name_is_a_safe_file_name() -> None:
    taken: set[str] = set()
    assert file_stem("schedule.lr", taken) == "schedule.lr"
    assert file_stem("../x/y\x1b", taken) == "_x_y_"
    assert file_stem("schedule.lr", taken) == "schedule.lr-2"
