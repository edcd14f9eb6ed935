"""Repeats (#22): every configuration runs seeds seed..seed+N-1; configs.csv gives each one's
spread and its verdict against the best, recomputed here from the runs' own status.json."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from hw3tui.cli import cli
from hw3tui.results.verdicts import spread, verdict
from hw3tui.runs import RunDir
from hw3tui.sweeps.configs import config_rows, configs_text
from hw3tui.sweeps.folder import Row, SweepDir, read_leaderboard
from tests.sweeps.test_sweep_runs import child_env, hw3tui

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "data" / "tiny.yaml"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "base: tiny.yaml\nrepeat: 3\naxes:\n  seed: [1, 2]\n",
            "s.yaml:4:3: axes.seed: `repeat: 3` runs seeds seed..seed+2 itself",
        ),
        (
            "base: tiny.yaml\nrepeat: 2\nset:\n  seed: 5\n",
            "s.yaml:4:3: set.seed: `repeat: 2` runs seeds seed..seed+1 itself",
        ),
        ("base: tiny.yaml\nrepeat: 101\n", "s.yaml:2:9: repeat: "),
        (
            "base: tiny.yaml\nrepeat: 100\naxes:\n  schedule.lr: "
            + str([0.001] * 1001).replace(" ", "")
            + "\n",
            "a grid of 100,100 trials (1001 × 100 repeats) is over the limit",
        ),
    ],
)
def test_a_repeat_with_a_seed_axis_or_too_many_runs_is_refused_located(
    tiny_preset: Path, text: str, expected: str
) -> None:
    shutil.copy(tiny_preset, "tiny.yaml")
    Path("s.yaml").write_text(text)

    result = CliRunner().invoke(cli, ["sweep", "s.yaml"])

    assert result.exit_code == 2
    assert expected in result.output
    assert not Path("sweeps").exists()


def test_repeat_set_seed_on_the_command_line_is_refused(tiny_preset: Path) -> None:
    result = CliRunner().invoke(cli, ["repeat", str(tiny_preset), "-n", "2", "--set", "seed=3"])

    assert result.exit_code == 2
    assert "--set seed=3: `repeat: 2` runs seeds seed..seed+1 itself" in result.output


def test_print_commands_gives_each_seed_its_run_folder(tiny_preset: Path) -> None:
    shutil.copy(tiny_preset, "tiny.yaml")
    Path("s.yaml").write_text("base: tiny.yaml\nrepeat: 2\naxes:\n  schedule.lr: [0.1, 0.2]\n")

    result = CliRunner().invoke(cli, ["sweep", "s.yaml", "--print-commands", "--sweep-dir", "d"])

    lines = result.output.splitlines()
    assert [line.split("--run-dir ")[1] for line in lines] == [
        "d/runs/trial-000-s0 --set schedule.lr=0.1 --set seed=0",
        "d/runs/trial-000-s1 --set schedule.lr=0.1 --set seed=1",
        "d/runs/trial-001-s0 --set schedule.lr=0.2 --set seed=0",
        "d/runs/trial-001-s1 --set schedule.lr=0.2 --set seed=1",
    ]


def _row(config: int, seed: int, value: float | None, state: str = "done") -> Row:
    run = f"runs/trial-{config:03d}-s{seed}"
    return Row(config, state, value, 0, run, {"lr": str(config)}, seed=seed)


def test_one_seed_whenever_a_configuration_has_one_value() -> None:
    rows = [_row(0, 0, 0.9), _row(0, 1, 0.8), _row(1, 0, 0.5), _row(1, 1, None, "failed")]
    rows += [_row(2, 0, 0.4), _row(2, 1, 0.3), _row(3, 0, None, "running")]

    configs = config_rows(rows, higher_is_better=True)

    assert [(c.config, c.spread.n, c.word) for c in configs] == [
        (0, 2, "best"),
        (2, 2, "worse"),  # complete (both seeds done): ranked before the incomplete one
        (1, 1, "one seed"),
        (3, 0, ""),
    ]
    text = configs_text(configs, ["lr"]).splitlines()
    assert text[0] == "config,n,mean,std,min,max,delta,low,high,verdict,lr"
    assert text[3] == "1,1,0.5,,0.5,0.5,-0.35,,,one seed,1"


def _configs_from_status(folder: SweepDir, monitor_higher: bool) -> list[list[str]]:
    """configs.csv recomputed from each run's status.json, with the verdicts module."""
    values: dict[int, dict[int, float]] = {}
    _, rows = read_leaderboard(folder)
    for row in rows:
        status = RunDir(folder.path / row.run).read_status()
        assert status is not None and status.best is not None and status.state == "done"
        assert row.seed is not None
        values.setdefault(row.config, {})[row.seed] = float(status.best["value"])
    means = {c: spread(v.values()).mean or 0.0 for c, v in values.items()}
    order = sorted(values, key=lambda c: (-means[c] if monitor_higher else means[c], c))
    best = values[order[0]]
    out = []
    for c in order:
        s = spread(values[c].values())
        v = verdict(best, values[c], higher_is_better=monitor_higher)
        said = (0.0, None, None, "best") if c == order[0] else (v.delta, v.low, v.high, v.word)
        numbers = [s.mean, s.std, s.low, s.high, *said[:3]]
        out.append([str(c), str(s.n), *("" if x is None else f"{x:.6g}" for x in numbers), said[3]])
    return out


@pytest.mark.slow
def test_a_repeated_grid_writes_configs_csv_as_its_runs_say(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        f"name: rep\nbase: {TINY}\nset: {{schedule.epochs: 1}}\nrepeat: 2\n"
        "axes:\n  schedule.lr: [0.001, 0.03]\n"
    )

    done = hw3tui("sweep", "s.yaml", "--sweep-dir", "r", cwd=tmp_path, env=child_env())

    assert done.returncode == 0, done.stdout + done.stderr
    folder = SweepDir(tmp_path / "r")
    assert sorted(p.name for p in folder.runs_dir.iterdir() if p.is_dir()) == [
        "trial-000-s0",
        "trial-000-s1",
        "trial-001-s0",
        "trial-001-s1",
    ]
    lines = list(csv.reader(io.StringIO(folder.configs_file.read_text())))
    header = "config,n,mean,std,min,max,delta,low,high,verdict,schedule.lr"
    assert folder.configs_file.read_text().splitlines()[0] == header
    assert [line[:10] for line in lines[1:]] == _configs_from_status(folder, True)
    assert "mean ± std" in done.stdout and lines[1][9] == "best"
    best = lines[1][0]
    assert f"trial {best}" in folder.best_file.read_text()
    assert "\nseed: 0\n" in folder.best_file.read_text()


@pytest.mark.slow
def test_hw3tui_repeat_runs_the_preset_with_seeds_s_and_s_plus_1(tmp_path: Path) -> None:
    preset = tmp_path / "p.yaml"
    preset.write_text(TINY.read_text().replace("seed: 0", "seed: 7"))

    done = hw3tui(
        "repeat", "p.yaml", "-n", "2", "--set", "schedule.epochs=1", cwd=tmp_path, env=child_env()
    )

    assert done.returncode == 0, done.stdout + done.stderr
    (folder,) = [SweepDir(p) for p in (tmp_path / "sweeps").iterdir()]
    assert folder.name.startswith("tiny-repeat-")
    _, rows = read_leaderboard(folder)
    assert sorted((r.run, r.seed) for r in rows) == [
        ("runs/trial-000-s0", 7),
        ("runs/trial-000-s1", 8),
    ]
    for row in rows:
        assert f"\nseed: {row.seed}\n" in RunDir(folder.path / row.run).preset_file.read_text()
    lines = list(csv.reader(io.StringIO(folder.configs_file.read_text())))
    assert [line[:2] + line[9:10] for line in lines[1:]] == [["0", "2", "best"]]
    assert "mean ± std" in done.stdout
