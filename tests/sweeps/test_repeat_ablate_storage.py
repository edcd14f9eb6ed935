"""`hw3tui repeat` and `hw3tui ablate` on a database (`--storage URL`, `--runs DIR`): the same
check, freeze and study as `hw3tui sweep --storage`, and the same results as on the journal file.
Each trial is a real tiny `hw3tui run` child (2 epochs); precision and channels_last are pinned so
every run takes the same path whatever the runtime probe would choose."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from postgres_server import PASSWORD

from hw3tui.cli import cli
from hw3tui.runs import RunDir
from hw3tui.sweeps.folder import SweepDir, read_leaderboard
from tests.sweeps.test_sweep_runs import child_env
from tests.sweeps.test_two_machines import finish, join

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "data" / "tiny.yaml"  # one augmentation on: horizontal_flip
PINNED = ["--set", "runtime.precision=fp32", "--set", "runtime.channels_last=false"]


def hw3tui(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hw3tui", *args],
        cwd=cwd,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.parametrize("command", ["repeat", "ablate"])
@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("bogus", "bogus"),
        ("mysql://x", "mysql://x"),
        (f"postgresql://nobody:{PASSWORD}@127.0.0.1:1/x", "postgresql://nobody@127.0.0.1:1/x"),
    ],
)
def test_a_bad_storage_url_is_one_line_exit_2_and_no_folder(
    isolated: Path, command: str, url: str, shown: str
) -> None:
    given = CliRunner().invoke(cli, [command, str(TINY), "-n", "2", "--storage", url])

    assert given.exit_code == 2, given.output
    lines = [line for line in given.output.splitlines() if line.strip()]
    assert len(lines) == 1 and shown in lines[0], given.output  # before the ablation's plan
    assert "Traceback" not in given.output and PASSWORD not in given.output
    assert sorted(isolated.iterdir()) == []  # no sweeps/, no runs/


def test_runs_holding_runs_is_refused_before_any_folder(isolated: Path) -> None:
    (isolated / "used" / "trial-000").mkdir(parents=True)

    given = CliRunner().invoke(cli, ["repeat", str(TINY), "-n", "2", "--runs", "used"])

    assert given.exit_code == 2, given.output
    assert "already holds runs" in given.output
    assert sorted(isolated.iterdir()) == [isolated / "used"]


@pytest.mark.slow
def test_repeat_on_postgresql_gives_the_journals_configs_csv(
    tmp_path: Path, postgres_url: str
) -> None:
    args = ["repeat", str(TINY), "-n", "2", *PINNED]
    finish(
        hw3tui(*args, "--sweep-dir", "journal", cwd=tmp_path),
        hw3tui(*args, "--sweep-dir", "db", "--storage", postgres_url, cwd=tmp_path),
    )

    journal, db = SweepDir(tmp_path / "journal"), SweepDir(tmp_path / "db")
    frozen = db.sweep_file.read_text()
    assert f"storage: {postgres_url}\n" in frozen and "\nstudy: db-" in frozen
    assert not list(db.path.glob("*.journal*"))  # the study is in the database
    _, rows = read_leaderboard(db)
    assert sorted((r.state, r.seed) for r in rows) == [("done", 0), ("done", 1)]
    assert db.configs_file.read_text() == journal.configs_file.read_text()  # mean, std, seeds


@pytest.mark.slow
def test_ablate_on_postgresql_with_a_second_worker_gives_the_journals_ablation_csv(
    tmp_path: Path, postgres_url: str
) -> None:
    a, b, shared = tmp_path / "a", tmp_path / "b", tmp_path / "shared" / "runs"
    for path in (a, b):
        path.mkdir()
    args = ["ablate", str(TINY), "-n", "2", *PINNED]
    place = ["--storage", postgres_url, "--runs", "../shared/runs"]  # relative: frozen absolute
    first = hw3tui(*args, "--sweep-dir", "abl", *place, cwd=a)
    joined = join(a / "abl", b)  # machine B: a copy of A's sweep.yaml in a folder of its own
    second = hw3tui("sweep", "resume", str(joined), cwd=b)
    reference = hw3tui(*args, "--sweep-dir", "journal", cwd=tmp_path)
    finish(first, second, reference)

    assert sorted(p.name for p in shared.iterdir() if not p.name.startswith(".")) == [
        f"trial-{n:03d}-s{k}" for n in range(2) for k in range(2)
    ]  # two variants × two seeds, in the shared folder only
    for run in shared.glob("trial-*"):
        assert sum(e["type"] == "run_start" for e in RunDir(run).events()) == 1  # each run once
    assert f"runs: {shared}\n" in (a / "abl" / "sweep.yaml").read_text()
    assert not (a / "abl" / "runs").exists() and not (joined / "runs").exists()
    expected = (tmp_path / "journal" / "ablation.csv").read_text()
    assert "augment.horizontal_flip off" in expected
    assert (a / "abl" / "ablation.csv").read_text() == expected
    assert (joined / "ablation.csv").read_text() == expected


def test_sweep_runs_puts_the_trials_run_folders_there_frozen_absolute(isolated: Path) -> None:
    (isolated / "s.yaml").write_text(f"base: {TINY}\naxes:\n  schedule.lr: [0.1, 0.2]\n")

    given = CliRunner().invoke(cli, ["sweep", "s.yaml", "--print-commands", "--runs", "shared"])

    assert given.exit_code == 0, given.output
    assert [line.split("--run-dir ")[1].split()[0] for line in given.output.splitlines()] == [
        str(isolated / "shared" / "trial-000"),
        str(isolated / "shared" / "trial-001"),
    ]
