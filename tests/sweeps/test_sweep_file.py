"""Sweep files are checked like presets: located errors, and every trial valid before any starts."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from hw3tui.cli import cli
from hw3tui.preset import load_preset
from hw3tui.sweeps.file import dump_sweep, load_sweep, queue_sweep
from hw3tui.sweeps.study import combinations

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def base(tiny_preset: Path) -> Path:
    return Path(shutil.copy(tiny_preset, "tiny.yaml"))


def sweep(text: str, *args: str) -> tuple[int, str]:
    Path("s.yaml").write_text(text)
    result = CliRunner().invoke(cli, ["sweep", "s.yaml", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "base: tiny.yaml\naxes:\n  schedule.lr: [0.001, -1]\n",
            "s.yaml:3:24: axes.schedule.lr: value -1 is refused: must be above 0.0 (got -1)",
        ),
        (
            "base: tiny.yaml\naxes:\n  optimizer.nme: [adam]\n",
            "s.yaml:3:19: axes.optimizer.nme: value adam is refused: unknown key 'nme'; "
            "did you mean 'name'?",
        ),
        (
            "base: tiny.yaml\nmethod: tpe\naxes:\n  schedule.lr: {logunifrom: [1.0e-4, 1.0e-2]}\n",
            "s.yaml:4:17: axes.schedule.lr.logunifrom: unknown axis form 'logunifrom'; "
            "did you mean 'loguniform'?",
        ),
        (
            "base: tiny.yaml\naxes:\n  schedule.lr: {loguniform: [1.0e-4, 1.0e-2]}\n",
            "s.yaml:3:3: axes.schedule.lr: a grid needs a list of values; ranges are for method "
            "random or tpe",
        ),
        (
            "base: tiny.yaml\nmethod: tpe\naxes:\n  schedule.lr: {loguniform: [0, 1.0e-2]}\n",
            "s.yaml:4:30: axes.schedule.lr.loguniform.0: must be above 0.0 (got 0)",
        ),
        (
            "base: tiny.yaml\nset: {optimizer.momentum: 2}\n",
            "s.yaml:2:27: set.optimizer.momentum: must be below 1.0 (got 2)",
        ),
        (
            "base: tiny.yaml\nmethd: grid\n",
            "s.yaml:2:1: methd: unknown key 'methd'; did you mean 'method'?",
        ),
        (
            "base: tiny.yaml\nprune: {median: {after_epoch: 3}}\n",
            "s.yaml:2:18: prune.median.after_epoch: unknown key 'after_epoch'; "
            "did you mean 'after_epochs'?",
        ),
        ("base: nowhere.yaml\n", "s.yaml:1:7: base: no preset file"),
        (
            "base: tiny.yaml\nmethod: grdi\n",
            "s.yaml:2:9: method: 'grdi' is not one of grid, random, tpe; did you mean 'grid'?",
        ),
        (
            "name: x\naxes: {seed: [1]}\n",
            "s.yaml:1:1: missing: give `base` (a preset) or `presets` (a queue)",
        ),
        ("base: tiny.yaml\naxes: {schedule.lr: [0.1\n", "s.yaml:3:1: "),
    ],
)
def test_bad_sweep_files_exit_2_located_and_start_nothing(text: str, expected: str) -> None:
    code, output = sweep(text)

    assert code == 2, output
    assert expected in output
    assert "Traceback" not in output
    assert not Path("sweeps").exists()


def test_a_sweep_that_shortens_the_run_cuts_schedule_entries_with_a_warning() -> None:
    Path("s.yaml").write_text(
        "base: tiny.yaml\nset: {schedule.epochs: 2}\naxes:\n  schedule.lr: [{0: 0.1, 5: 0.01}]\n"
    )

    loaded = load_sweep(Path("s.yaml"))

    assert len(loaded.warnings) == 1
    assert "schedule.lr from epoch 5" in loaded.warnings[0]


def test_a_grid_is_every_combination_in_order() -> None:
    Path("s.yaml").write_text(
        "base: tiny.yaml\naxes:\n  optimizer.name: [sgd, adam]\n  schedule.lr: [0.1, 0.01, 0.001]\n"
    )
    loaded = load_sweep(Path("s.yaml"))

    grid = list(combinations(loaded))

    assert loaded.sweep.planned() == 6
    assert grid[0] == {"optimizer.name": "sgd", "schedule.lr": "0.1"}
    assert grid[-1] == {"optimizer.name": "adam", "schedule.lr": "0.001"}
    assert len({tuple(g.items()) for g in grid}) == 6


def test_the_frozen_sweep_names_its_base_absolutely_and_keeps_command_line_sets() -> None:
    Path("sub").mkdir()
    shutil.copy("tiny.yaml", "sub/tiny.yaml")
    Path("sub/s.yaml").write_text("base: tiny.yaml  # mine\naxes:\n  seed: [1, 2]\n")

    loaded = load_sweep(Path("sub/s.yaml"), ["schedule.epochs=1"])

    assert loaded.starts == (str(Path("sub/tiny.yaml").resolve()),)
    assert loaded.sweep.set == {"schedule.epochs": 1}
    assert "# mine" in loaded.text
    assert loaded.overrides({"seed": 2}) == ["schedule.epochs=1", "seed=2"]


TRICKY = [
    "a: (b)",
    "it's #(1)",
    'say "(hi)"',
    "café_(\\d+)",
    "日本 # (2)",
    "- (x)",
    "{(y)}",
    "[a](z)",
]
"""Label patterns (any text that compiles) that YAML quotes, or would misread if written bare."""


def test_the_writer_round_trips_tricky_values_through_the_reader() -> None:
    text = dump_sweep(
        {
            "name": "tricky",
            "base": "tiny.yaml",
            "set": {"data.label_pattern": "x: #(y)"},
            "axes": {"data.label_pattern": TRICKY, "optimizer.name": ["sgd", "adam"]},
            "method": "grid",
            "prune": {"median": {"after_epochs": 2}},
        },
        comment="written by a test: # and 'quotes'",
    )
    Path("s.yaml").write_text(text, encoding="utf-8")
    loaded = load_sweep(Path("s.yaml"))
    assert loaded.sweep.set == {"data.label_pattern": "x: #(y)"}
    assert loaded.sweep.axes == {"data.label_pattern": TRICKY, "optimizer.name": ["sgd", "adam"]}
    assert loaded.sweep.planned() == 2 * len(TRICKY)
    assert text.startswith("# written by a test: # and 'quotes'\nname: tricky\n")
    # one path a line, each value on it: an error in the file names a line of its own
    assert "\n  optimizer.name: [sgd, adam]\n" in text


def test_a_queue_of_presets_is_a_sweep_over_them() -> None:
    shutil.copy("tiny.yaml", "other.yaml")
    loaded = queue_sweep(["tiny.yaml", "other.yaml"])
    assert loaded.sweep.planned() == 2
    assert [c["preset"] for c in combinations(loaded)] == [
        str(Path("tiny.yaml").resolve()),
        str(Path("other.yaml").resolve()),
    ]


def test_a_queue_with_a_bad_preset_names_it() -> None:
    Path("bad.yaml").write_text("schedule:\n  epochs: 0\n")
    result = CliRunner().invoke(cli, ["sweep", "tiny.yaml", "bad.yaml"])
    assert result.exit_code == 2
    assert "bad.yaml:2:11: schedule.epochs: must be at least 1 (got 0)" in result.output


def test_print_commands_gives_one_run_per_trial_and_starts_nothing() -> None:
    code, output = sweep(
        "name: g\nbase: tiny.yaml\nset: {schedule.epochs: 1}\naxes:\n  seed: [1, 2]\n",
        "--print-commands",
    )

    assert code == 0, output
    lines = output.splitlines()
    assert len(lines) == 2
    for number, line in enumerate(lines):
        assert line.startswith(
            f"hw3tui run {Path('tiny.yaml').resolve()} --run-dir sweeps/g/runs/trial-00{number}"
        )
        assert line.endswith(f"--set schedule.epochs=1 --set seed={number + 1}")
    assert not Path("sweeps").exists()


def test_readme_example_sweep_file_validates(base: Path) -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Sweeps", 1)[1].split("\n## ", 1)[0]
    example = re.findall(r"```yaml\n(.*?)```", section, flags=re.S)[0]
    Path("presets").mkdir()
    shutil.copy(REPO / "presets" / "mobilenetv2.yaml", "presets/mobilenetv2.yaml")
    Path("example.yaml").write_text(example)

    loaded = load_sweep(Path("example.yaml"))

    assert loaded.sweep.axes
    load_preset(loaded.starts[0], loaded.overrides({}))


def test_sweep_reference_is_current() -> None:
    from hw3tui.sweeps.reference import reference

    readme = (REPO / "README.md").read_text()
    assert reference() in readme, "regenerate: python -m hw3tui.sweeps.reference"


def test_listing_and_checking_sweeps_import_neither_optuna_nor_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from hw3tui.cli import cli\n"
        "assert CliRunner().invoke(cli, ['sweeps']).exit_code == 0\n"
        "assert CliRunner().invoke(cli, ['sweep', 's.yaml']).exit_code == 2\n"
        "print(sorted(m for m in ('optuna', 'torch') if m in sys.modules))\n"
    )
    Path("s.yaml").write_text("base: tiny.yaml\naxes:\n  schedule.lr: [-1]\n")
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert done.stdout.strip() == "[]", done.stderr


def test_random_trials_draw_every_axis_within_its_range() -> None:
    code, output = sweep(
        "name: r\nbase: tiny.yaml\nmethod: random\ntrials: 5\naxes:\n"
        "  schedule.lr: {loguniform: [1.0e-4, 1.0e-2]}\n"
        "  schedule.batch_size: {int: [4, 16]}\n"
        "  augment.horizontal_flip: {uniform: [0.0, 0.5]}\n"
        "  optimizer.name: {choice: [sgd, adam]}\n",
        "--print-commands",
    )

    assert code == 0, output
    lines = [line for line in output.splitlines() if line.startswith("hw3tui run")]
    assert len(lines) == 5
    lrs = set()
    for line in lines:
        sets = dict(part.split("=", 1) for part in line.split(" --set ")[1:])
        assert 1e-4 <= float(sets["schedule.lr"]) <= 1e-2
        assert 4 <= int(sets["schedule.batch_size"]) <= 16
        assert 0.0 <= float(sets["augment.horizontal_flip"]) <= 0.5
        assert sets["optimizer.name"] in ("sgd", "adam")
        lrs.add(sets["schedule.lr"])
    assert len(lrs) == 5


@pytest.mark.parametrize(
    ("prune", "pruner"),
    [
        ("{median: {after_epochs: 3, after_trials: 2}}", "MedianPruner"),
        ("{halving: {min_epochs: 2, factor: 3}}", "SuccessiveHalvingPruner"),
        ("none", "NopPruner"),
    ],
)
def test_prune_maps_onto_optunas_pruners(prune: str, pruner: str) -> None:
    from hw3tui.sweeps.study import _pruner

    Path("s.yaml").write_text(f"base: tiny.yaml\nprune: {prune}\naxes:\n  seed: [1]\n")
    made = _pruner(load_sweep(Path("s.yaml")))
    assert type(made).__name__ == pruner
    if pruner == "MedianPruner":
        assert (made._n_warmup_steps, made._n_startup_trials) == (3, 2)  # type: ignore[attr-defined]
    if pruner == "SuccessiveHalvingPruner":
        assert (made._min_resource, made._reduction_factor) == (2, 3)  # type: ignore[attr-defined]


def test_print_commands_of_a_sweep_folder_use_its_run_folders() -> None:
    folder = Path("sweeps", "g-1")
    (folder / "runs").mkdir(parents=True)
    (folder / "sweep.yaml").write_text(
        f"name: g\nbase: {Path('tiny.yaml').resolve()}\naxes:\n  seed: [1, 2]\n"
    )

    result = CliRunner().invoke(cli, ["sweep", str(folder), "--print-commands"])

    assert result.exit_code == 0, result.output
    assert [line.split(" --run-dir ")[1].split()[0] for line in result.output.splitlines()] == [
        "sweeps/g-1/runs/trial-000",
        "sweeps/g-1/runs/trial-001",
    ]


def _values(first: int, count: int) -> str:
    return "[" + ", ".join(str(first + i) for i in range(count)) + "]"


def test_a_grid_over_the_cap_is_refused_at_its_axes_line_without_building_it() -> None:
    # 317 × 317 = 100,489 trials: over the 100,000 cap (also `trials`' cap), even with `trials: 3`
    code, output = sweep(
        "base: tiny.yaml\ntrials: 3\naxes:\n"
        f"  seed: {_values(0, 317)}\n  schedule.batch_size: {_values(1, 317)}\n"
    )

    assert code == 2, output
    assert (
        "s.yaml:3:1: axes: a grid of 100,489 trials (317 × 317) is over the limit of 100,000"
        in output
    )
    assert "Traceback" not in output


def test_a_grid_of_a_million_trials_is_refused_at_once() -> None:
    axis = _values(0, 1000)
    code, output = sweep(
        f"base: tiny.yaml\naxes:\n  seed: {axis}\n  data.shapes.classes: {axis}\n"
        f"  schedule.batch_size: {axis}\n",
        "--print-commands",
    )

    assert code == 2, output
    assert "s.yaml:2:1: axes: a grid of 1,000,000,000 trials (1000 × 1000 × 1000)" in output
    assert "hw3tui run" not in output


def test_the_same_axis_under_two_spellings_is_refused_at_the_second() -> None:
    code, output = sweep(
        'base: tiny.yaml\naxes:\n  schedule.lr: [0.1]\n  "schedule . lr": [0.2]\n',
        "--print-commands",
    )

    assert code == 2, output
    assert (
        "s.yaml:4:3: axes.schedule . lr: the same field as `schedule.lr`; give each field once"
        in output
    )


def test_an_empty_axis_does_not_hide_the_other_axes_problems() -> None:
    code, output = sweep(
        "base: tiny.yaml\naxes:\n  seed: []\n  schedule.lr: [0.001, -1]\n  optimizer.nme: [adam]\n"
    )

    assert code == 2, output
    lines = output.splitlines()
    assert lines[0].startswith("s.yaml:3:9: axes.seed")
    assert lines[1].startswith("s.yaml:4:24: axes.schedule.lr: value -1 is refused")
    assert lines[2].startswith("s.yaml:5:19: axes.optimizer.nme: value adam is refused")
    assert len(lines) == 3


def test_a_value_that_breaks_the_base_preset_names_the_axis_and_both_lines() -> None:
    Path("sgd.yaml").write_text(
        Path("tiny.yaml").read_text().replace("  name: adamw\n", "  name: sgd\n  momentum: 0.9\n")
    )
    code, output = sweep("base: sgd.yaml\naxes:\n  optimizer.name: [sgd, adamw]\n")

    assert code == 2, output
    assert output.strip() == (
        "s.yaml:3:25: axes.optimizer.name: value adamw is refused: "
        "sgd.yaml:13:3: optimizer.momentum: momentum applies to sgd; adamw uses `betas`"
    )


@pytest.mark.parametrize(
    "prune",
    ["{median: {after_epochs: 50}}", "{median: {after_epochs: 2}}", "{halving: {min_epochs: 5}}"],
)
def test_pruning_that_can_never_stop_a_trial_is_a_located_warning(prune: str) -> None:
    Path("s.yaml").write_text(f"base: tiny.yaml\nprune: {prune}\naxes:\n  seed: [1, 2]\n")

    loaded = load_sweep(Path("s.yaml"))

    (warning,) = loaded.warnings
    assert warning.startswith("s.yaml:2:")
    assert "schedule.epochs is 2: no trial is ever pruned" in warning
    code, output = sweep(Path("s.yaml").read_text(), "--print-commands")
    assert code == 0
    assert f"warning: {warning}" in output


def test_pruning_is_checked_against_the_longest_trial() -> None:
    Path("s.yaml").write_text(
        "base: tiny.yaml\nprune: {median: {after_epochs: 3}}\naxes:\n  schedule.epochs: [2, 5]\n"
    )

    assert load_sweep(Path("s.yaml")).warnings == ()
