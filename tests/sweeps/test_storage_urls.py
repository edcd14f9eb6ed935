"""A sweep's storage URL is checked before anything is created, its password never written, and
its study is its own: two sweeps never share one, a resumed folder never adopts another's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from postgres_server import PASSWORD, PASSWORD_ROLE, PostgresServer

from hw3tui.cli import cli
from hw3tui.sweeps.folder import SweepDir, read_leaderboard

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "data" / "tiny.yaml"


def grid_text(axes: str = "schedule.lr: [0.001, 0.01]", *, extra: str = "") -> str:
    """A tiny grid (one epoch a trial); `axes` is one `path: [values]` line."""
    return f"name: s\nbase: {TINY}\nset: {{schedule.epochs: 1}}\naxes:\n  {axes}\n{extra}"


def hw3tui(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = dict(env if env is not None else os.environ)
    path = environment.get("PYTHONPATH", "")
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), path]))
    environment.pop("CUDA_VISIBLE_DEVICES", None)
    return subprocess.run(
        [sys.executable, "-m", "hw3tui", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )


def everything_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*"))


def one_line_refusal(result: object, *, naming: str) -> str:
    """The refusal's text: exit 2, one line, no traceback, naming the URL."""
    exit_code = result.exit_code  # type: ignore[attr-defined]
    output = result.output  # type: ignore[attr-defined]
    assert exit_code == 2, (exit_code, output, result.exception)  # type: ignore[attr-defined]
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert naming in lines[0], lines[0]
    return lines[0]


BAD_URLS = [
    ("bogus", "bogus"),
    ("mysql://x", "mysql://x"),
    ("nosuchdb://x", "nosuchdb://x"),
    ("sqlite:////nonexistent/dir/x.db", "sqlite:////nonexistent/dir/x.db"),
    ("sqlite://", "sqlite://"),
    ("postgresql://nobody@127.0.0.1:1/x", "postgresql://nobody@127.0.0.1:1/x"),
    (f"postgresql://nobody:{PASSWORD}@127.0.0.1:1/x", "postgresql://nobody@127.0.0.1:1/x"),
    (f"postgresql://nobody@127.0.0.1:1/x?password={PASSWORD}", "postgresql://nobody@127.0.0.1:1"),
    (f"bad://nobody:{PASSWORD}@[::1:1/x", "bad://nobody@"),
]


@pytest.mark.parametrize(("url", "shown"), BAD_URLS)
def test_a_bad_storage_url_is_one_line_exit_2_and_nothing_is_created(
    isolated: Path, url: str, shown: str
) -> None:
    (isolated / "grid.yaml").write_text(grid_text())
    (isolated / "in-file.yaml").write_text(grid_text(extra=f"storage: '{url}'\n"))

    given = CliRunner().invoke(cli, ["sweep", "grid.yaml", "--storage", url])
    in_file = CliRunner().invoke(cli, ["sweep", "in-file.yaml", "--sweep-dir", "here"])

    assert PASSWORD not in one_line_refusal(given, naming=shown)
    assert PASSWORD not in one_line_refusal(in_file, naming=shown)
    assert everything_under(isolated) == [isolated / "grid.yaml", isolated / "in-file.yaml"]
    assert not Path("/nonexistent").exists()


def test_an_sqlite_path_under_a_file_is_refused(isolated: Path) -> None:
    (isolated / "grid.yaml").write_text(grid_text())
    (isolated / "afile").write_text("not a folder\n")

    given = CliRunner().invoke(cli, ["sweep", "grid.yaml", "--storage", "sqlite:///afile/x.db"])

    one_line_refusal(given, naming=f"sqlite:///{isolated}/afile/x.db")
    assert everything_under(isolated) == [isolated / "afile", isolated / "grid.yaml"]


def test_a_relative_sqlite_path_in_a_sweep_file_is_the_files_folders(isolated: Path) -> None:
    (isolated / "sub").mkdir()
    (isolated / "sub" / "grid.yaml").write_text(grid_text(extra="storage: sqlite:///no/s.db\n"))

    given = CliRunner().invoke(cli, ["sweep", "./sub/grid.yaml"])

    one_line_refusal(given, naming=f"sqlite:///{isolated}/sub/no/s.db")


def test_resume_of_a_folder_whose_storage_is_bad_is_one_line_exit_2(isolated: Path) -> None:
    folder = isolated / "old"
    (folder / "runs").mkdir(parents=True)
    (folder / "sweep.yaml").write_text(grid_text(extra="storage: mysql://x\n"))
    before = everything_under(isolated)

    given = CliRunner().invoke(cli, ["sweep", "resume", str(folder)])

    line = one_line_refusal(given, naming="mysql://x")
    assert "mysqlclient" in line  # which package brings the driver
    assert everything_under(isolated) == before


def test_a_wrong_password_is_one_line_exit_2_without_the_password(
    isolated: Path, postgres_server: PostgresServer
) -> None:
    database = postgres_server.new_database()
    url = postgres_server.url(database, user=f"{PASSWORD_ROLE}:wrong-{PASSWORD}")
    (isolated / "grid.yaml").write_text(grid_text())

    given = CliRunner().invoke(cli, ["sweep", "grid.yaml", "--storage", url])

    line = one_line_refusal(given, naming=postgres_server.url(database, user=PASSWORD_ROLE))
    assert PASSWORD not in line and "wrong-" not in line
    assert "password" in line  # the server's own word for it
    assert everything_under(isolated) == [isolated / "grid.yaml"]


@pytest.mark.slow
def test_a_password_is_used_but_never_printed_nor_written(
    isolated: Path, postgres_server: PostgresServer
) -> None:
    database = postgres_server.new_database()
    url = postgres_server.url(database, user=f"{PASSWORD_ROLE}:{PASSWORD}")
    (isolated / "grid.yaml").write_text(grid_text("schedule.lr: [0.001]"))
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}

    first = hw3tui(
        "sweep", "grid.yaml", "--storage", url, "--sweep-dir", "s", cwd=isolated, env=env
    )
    again = hw3tui("sweep", "resume", "s", cwd=isolated, env={**env, "PGPASSWORD": PASSWORD})
    without = hw3tui("sweep", "resume", "s", cwd=isolated, env=env)

    assert first.returncode == 0, first.stdout + first.stderr
    assert "PGPASSWORD" in first.stderr and "~/.pgpass" in first.stderr  # the warning
    assert again.returncode == 0, again.stdout + again.stderr
    assert without.returncode == 2 and "Traceback" not in without.stderr
    _, rows = read_leaderboard(SweepDir(isolated / "s"))
    assert [r.state for r in rows] == ["done"]
    frozen = (isolated / "s" / "sweep.yaml").read_text()
    assert postgres_server.url(database, user=PASSWORD_ROLE) in frozen
    for done in (first, again, without):
        assert PASSWORD not in done.stdout + done.stderr
    for path in everything_under(isolated):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


@pytest.mark.slow
def test_two_sweeps_with_one_folder_name_on_one_database_run_their_own_trials(
    isolated: Path, postgres_url: str
) -> None:
    (isolated / "a.yaml").write_text(grid_text("schedule.lr: [0.001, 0.01]"))
    (isolated / "b.yaml").write_text(grid_text("optimizer.name: [adamw, sgd]"))
    (isolated / "a").mkdir()
    (isolated / "b").mkdir()

    ran_a = hw3tui("sweep", "a.yaml", "--storage", postgres_url, "--sweep-dir", "a/s", cwd=isolated)
    ran_b = hw3tui("sweep", "b.yaml", "--storage", postgres_url, "--sweep-dir", "b/s", cwd=isolated)

    assert ran_a.returncode == 0, ran_a.stdout + ran_a.stderr
    assert ran_b.returncode == 0, ran_b.stdout + ran_b.stderr
    for name, axis, values in (
        ("a", "schedule.lr", ["0.001", "0.01"]),
        ("b", "optimizer.name", ["adamw", "sgd"]),
    ):
        axes, rows = read_leaderboard(SweepDir(isolated / name / "s"))
        assert axes == [axis]
        assert sorted((r.params[axis], r.state) for r in rows) == [(v, "done") for v in values]


def test_a_new_sweep_naming_a_study_that_exists_is_refused(isolated: Path) -> None:
    import optuna

    database = isolated / "studies.db"
    optuna.create_study(study_name="mine", storage=f"sqlite:///{database}")
    (isolated / "grid.yaml").write_text(grid_text(extra="study: mine\n"))

    given = CliRunner().invoke(
        cli, ["sweep", "grid.yaml", "--storage", f"sqlite:///{database}", "--sweep-dir", "s"]
    )

    assert "another sweep" in one_line_refusal(given, naming="mine")
    assert everything_under(isolated) == [isolated / "grid.yaml", database]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_folder_pointing_at_another_sweeps_study_is_refused_and_a_copy_joins(
    isolated: Path, request: pytest.FixtureRequest, kind: str
) -> None:
    url = "sqlite:///studies.db" if kind == "sqlite" else request.getfixturevalue("postgres_url")
    (isolated / "grid.yaml").write_text(grid_text("schedule.lr: [0.001]"))
    ran = hw3tui("sweep", "grid.yaml", "--storage", url, "--sweep-dir", "s", cwd=isolated)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    frozen = (isolated / "s" / "sweep.yaml").read_text()
    other, copy = isolated / "elsewhere" / "other", isolated / "elsewhere" / "copy"
    for folder, text in (
        (other, frozen.replace("[0.001]", "[0.05]")),  # another sweep, the same study key
        (copy, frozen),  # what a second machine does to join
    ):
        (folder / "runs").mkdir(parents=True)
        (folder / "sweep.yaml").write_text(text)

    refused = hw3tui("sweep", "resume", str(other), cwd=isolated / "elsewhere")
    joined = hw3tui("sweep", "resume", str(copy), cwd=isolated / "elsewhere")

    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr
    assert "another sweep" in refused.stderr
    assert [p for p in (other / "runs").iterdir() if not p.name.startswith(".")] == []
    assert joined.returncode == 0, joined.stdout + joined.stderr
    # its one trial was done: nothing ran again
    assert [p for p in (copy / "runs").iterdir() if not p.name.startswith(".")] == []


@pytest.mark.slow
def test_a_relative_sqlite_path_is_frozen_absolute_and_resumed_from_anywhere(
    isolated: Path,
) -> None:
    (isolated / "grid.yaml").write_text(grid_text("schedule.lr: [0.001]"))
    elsewhere = isolated / "elsewhere"
    elsewhere.mkdir()

    ran = hw3tui(
        "sweep", "grid.yaml", "--storage", "sqlite:///rel.db", "--sweep-dir", "s", cwd=isolated
    )
    status = (isolated / "s" / "runs" / "trial-000" / "status.json").read_bytes()
    resumed = hw3tui("sweep", "resume", str(isolated / "s"), cwd=elsewhere)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert f"storage: sqlite:///{isolated}/rel.db" in (isolated / "s" / "sweep.yaml").read_text()
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert list(elsewhere.iterdir()) == []  # no second database
    assert (isolated / "s" / "runs" / "trial-000" / "status.json").read_bytes() == status
    _, rows = read_leaderboard(SweepDir(isolated / "s"))
    assert [(r.trial, r.state) for r in rows] == [(0, "done")]


def test_a_resumed_sweep_whose_study_is_missing_is_refused_once_it_has_trials(
    isolated: Path,
) -> None:
    database = isolated / "studies.db"
    folder = isolated / "s"
    (folder / "runs").mkdir(parents=True)
    (folder / "sweep.yaml").write_text(
        grid_text(extra=f"storage: sqlite:///{database}\nstudy: gone\n")
    )
    (folder / "leaderboard.csv").write_text(
        "trial,state,value,epoch,run,config,seed,schedule.lr\n0,done,0.5,0,runs/trial-000,0,0,0.001\n"
    )

    given = CliRunner().invoke(cli, ["sweep", "resume", str(folder)])

    assert "gone" in one_line_refusal(given, naming=f"sqlite:///{database}")


def test_a_worker_that_lost_the_race_to_create_the_tables_opens_the_winners(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two array tasks on a fresh PostgreSQL database: the loser's CREATE TABLE fails on a
    duplicate name (seen in the README's SLURM test as `duplicate key value violates unique
    constraint`, exit 2); it opens the winner's tables once they are there."""
    from sqlalchemy.exc import IntegrityError

    from hw3tui.sweeps import storage

    monkeypatch.setattr(storage.time, "sleep", lambda seconds: None)
    tries: list[int] = []

    def make() -> Any:
        tries.append(1)
        if len(tries) < 3:
            raise IntegrityError("CREATE TABLE studies", {}, Exception("duplicate key value"))
        return "opened"

    assert storage._created(make) == "opened"
    assert len(tries) == 3
