"""A grid is built lazily (never the whole product), printed without Optuna, and enqueued so
that `sweep resume` finishes a grid whose enqueueing was cut short."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hw3tui.cli import cli
from hw3tui.sweeps.file import load_sweep
from hw3tui.sweeps.folder import SweepDir
from hw3tui.sweeps.study import combinations, enqueue_grid, open_study

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def base(tiny_preset: Path) -> Path:
    return Path(shutil.copy(tiny_preset, "tiny.yaml"))


def _values(first: int, count: int) -> str:
    return "[" + ", ".join(str(first + i) for i in range(count)) + "]"


def test_print_commands_of_a_grid_at_the_cap_with_trials_3_prints_3_lines() -> None:
    # 400 × 250 = 100,000 combinations, the most allowed: only the 3 asked for are made
    Path("s.yaml").write_text(
        "name: big\nbase: tiny.yaml\ntrials: 3\naxes:\n"
        f"  seed: {_values(0, 400)}\n  data.shapes.train_per_class: {_values(1, 250)}\n"
    )

    result = CliRunner().invoke(cli, ["sweep", "s.yaml", "--print-commands"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 3
    assert [line.rsplit("=", 1)[1] for line in lines] == ["1", "2", "3"]
    assert all("--set seed=0 " in line for line in lines)


def test_print_commands_of_4000_combinations_is_every_one_once_without_optuna() -> None:
    Path("s.yaml").write_text(
        "name: g\nbase: tiny.yaml\nset: {schedule.epochs: 1}\naxes:\n"
        f"  seed: {_values(0, 40)}\n  data.shapes.train_per_class: {_values(1, 100)}\n"
    )
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from hw3tui.cli import cli\n"
        "result = CliRunner().invoke(cli, ['sweep', 's.yaml', '--print-commands'])\n"
        "assert result.exit_code == 0, result.output\n"
        "sys.stdout.write(result.output)\n"
        "print('optuna' in sys.modules)\n"
    )
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )

    *lines, optuna_imported = done.stdout.splitlines()
    assert optuna_imported == "False", done.stderr
    assert len(lines) == 4000
    assert len(set(lines)) == 4000
    assert lines[0].endswith(
        "runs/trial-000 --set schedule.epochs=1 --set seed=0 --set data.shapes.train_per_class=1"
    )
    assert lines[-1].endswith(
        "runs/trial-3999 --set schedule.epochs=1 --set seed=39 "
        "--set data.shapes.train_per_class=100"
    )


def _grid_of(study: object) -> list[tuple[tuple[str, str], ...]]:
    """Every trial's grid point, as the study holds it (queued or asked)."""
    points = []
    for trial in study.get_trials(deepcopy=False):  # type: ignore[attr-defined]
        params = trial.system_attrs.get("fixed_params") or trial.params
        points.append(tuple(sorted(params.items())))
    return points


def test_resume_enqueues_exactly_the_rest_of_a_grid_cut_short() -> None:
    Path("s.yaml").write_text(
        "base: tiny.yaml\naxes:\n  seed: [1, 2, 3]\n  optimizer.name: [sgd, adamw]\n"
    )
    loaded = load_sweep(Path("s.yaml"))
    folder = SweepDir.create(Path("sweeps"), "s")
    folder.sweep_file.write_text(loaded.text)
    study = open_study(folder, loaded)
    grid = [tuple(sorted(c.items())) for c in combinations(loaded)]
    # a first worker stopped (Ctrl-C, a kill) after enqueuing 4 of the 6, one of them already run
    for params in list(combinations(loaded))[:4]:
        study.enqueue_trial(params)
    trial = study.ask()
    study.tell(trial, 0.5)

    assert enqueue_grid(open_study(folder, loaded), loaded)  # what `sweep resume` does first

    resumed = open_study(folder, loaded)
    assert sorted(_grid_of(resumed)) == sorted(grid)
    assert len(resumed.get_trials(deepcopy=False)) == 6
    assert enqueue_grid(resumed, loaded)  # a second worker joining adds nothing
    assert len(open_study(folder, loaded).get_trials(deepcopy=False)) == 6


def test_an_enqueue_stopped_midway_says_so_and_resume_completes_it() -> None:
    Path("s.yaml").write_text("base: tiny.yaml\naxes:\n  seed: [1, 2, 3, 4, 5]\n")
    loaded = load_sweep(Path("s.yaml"))
    folder = SweepDir.create(Path("sweeps"), "s")
    folder.sweep_file.write_text(loaded.text)
    asked = iter([False, False, True])

    assert not enqueue_grid(open_study(folder, loaded), loaded, stop=lambda: next(asked))
    assert len(open_study(folder, loaded).get_trials(deepcopy=False)) == 2

    assert enqueue_grid(open_study(folder, loaded), loaded)
    seeds = [p[0][1] for p in _grid_of(open_study(folder, loaded))]
    assert seeds == ["1", "2", "3", "4", "5"]


def test_a_grid_with_a_value_listed_twice_keeps_both_trials_on_resume() -> None:
    Path("s.yaml").write_text("base: tiny.yaml\naxes:\n  seed: [1, 1, 2]\n")
    loaded = load_sweep(Path("s.yaml"))
    folder = SweepDir.create(Path("sweeps"), "s")
    folder.sweep_file.write_text(loaded.text)
    open_study(folder, loaded).enqueue_trial({"seed": "1"})

    assert enqueue_grid(open_study(folder, loaded), loaded)

    assert sorted(p[0][1] for p in _grid_of(open_study(folder, loaded))) == ["1", "1", "2"]
