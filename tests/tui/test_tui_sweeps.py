"""The sweeps on the home screen and the sweep screen, on a sweep folder written by the test."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from tui_fakes import write_run
from tui_pilot import run, text_of, wait_for
from tui_sweep_fakes import SWEEP_NAME, Launches, write_sweep

from hw3tui.runs import RunDir
from hw3tui.sweeps import workers
from hw3tui.tui import control
from hw3tui.tui.app import Hw3tuiApp
from hw3tui.tui.screens.choice import ChoiceScreen
from hw3tui.tui.screens.run import RunScreen
from hw3tui.tui.screens.sweep import SweepScreen
from hw3tui.tui.widgets.curves import Curves
from hw3tui.tui.widgets.leaderboard_table import LeaderboardTable
from hw3tui.tui.widgets.log_tail import LogTail
from hw3tui.tui.widgets.run_header import RunHeader
from hw3tui.tui.widgets.sweeps_table import SweepsTable

SIZE = (100, 34)


def test_home_lists_the_sweep_and_its_screen_shows_the_leaderboard(
    presets_dir: Path, isolated: Path
) -> None:
    folder = write_sweep(isolated / "sweeps")

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE) as pilot:
            table = app.screen.query_one(SweepsTable)
            await wait_for(pilot, lambda: table.row_count == 1, what="the sweep listed")
            assert [str(c) for c in table.get_row_at(0)] == [
                SWEEP_NAME,
                "■ stopped",
                "3/4",
                "val acc 0.850 (trial 2)",
            ]
            table.focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen))
            screen = app.screen
            board = screen.query_one(LeaderboardTable)
            await wait_for(pilot, lambda: board.row_count == 4, what="the leaderboard")
            header = text_of(screen.query_one(RunHeader))
            assert "stopped" in header and "3/4 trials" in header
            assert "best 0.8500 (trial 2)" in header
            # best first, as leaderboard.csv ranks them; a waiting trial has no value
            assert board.column_texts("trial") == ["2", "1", "0", "3"]
            assert board.column_texts("value") == ["0.8500", "0.7000", "0.5500", "–"]
            assert board.column_texts("state") == ["✓ done"] * 3 + ["· waiting"]
            assert board.column_texts("epochs") == ["4/4"] * 3 + ["–"]
            assert board.column_texts("optimizer.name") == ["adam", "sgd", "sgd", "adam"]
            # every trial with epochs has its val acc curve, labelled by trial
            curves = screen.query_one(Curves)
            assert sorted(s.label for s in curves.series) == ["#0", "#1", "#2"]
            assert list(curves.series[2].ys) == [0.4, 0.55, 0.7, 0.85]

            await pilot.press("s")  # sort by trial number
            assert board.sort_column == "trial"
            assert board.column_texts("trial") == ["0", "1", "2", "3"]
            await pilot.press("S")  # reversed
            assert board.column_texts("trial") == ["3", "2", "1", "0"]
            for _ in range(5):  # state, value, epoch, epochs, then the first axis
                await pilot.press("s")
            assert board.sort_column == "optimizer.name"
            assert board.column_texts("optimizer.name") == ["adam", "adam", "sgd", "sgd"]
            await pilot.press("s")
            assert board.sort_column == "schedule.lr"
            assert board.column_texts("schedule.lr") == ["0.001", "0.001", "0.01", "0.01"]

            # enter on a trial opens its run screen on its run folder
            board.move_cursor(row=board.get_row_index("1"))
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
            run_screen = app.screen
            assert isinstance(run_screen, RunScreen)
            assert run_screen.run.path.resolve() == folder.path / "runs" / "trial-001"
            await wait_for(pilot, lambda: run_screen.history.epochs_done == 4)
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen))
            # a waiting trial has no run to open yet
            board.move_cursor(row=board.get_row_index("3"))
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, SweepScreen)

    run(scenario())


def test_cancel_sigints_the_sweep_and_resume_starts_it_detached(
    isolated: Path,
    subprocess_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    hold_sweep_worker: list[str],
) -> None:
    folder = write_sweep(isolated / "sweeps")
    launches = Launches()
    started = launches.started
    monkeypatch.setattr(control, "launch_detached", launches)
    worker = subprocess.Popen(  # a sweep worker, as `hw3tui sweep` holds its lock
        [*hold_sweep_worker, str(folder.path)],
        stdout=subprocess.PIPE,
        env=subprocess_env,
        text=True,
    )
    assert worker.stdout is not None and worker.stdout.readline().strip() == "held"

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE) as pilot:
            app.open_sweep(folder.path)
            await wait_for(pilot, lambda: app.screen.query(RunHeader))
            screen = app.screen
            assert isinstance(screen, SweepScreen)
            header = screen.query_one(RunHeader)
            await wait_for(pilot, lambda: "● running" in text_of(header), what="running")
            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
            await pilot.press("y")
            await wait_for(pilot, lambda: worker.poll() is not None, what="the worker stopped")
            assert worker.stdout is not None and worker.stdout.read().strip() == "interrupted"
            await wait_for(pilot, lambda: "stopped" in text_of(header), what="stopped")
            assert started == []
            await pilot.press("r")
            await wait_for(pilot, lambda: started != [], what="the resume")
            assert started == [(["sweep", "resume", str(folder.path)], folder.path)]
            await wait_for(pilot, lambda: "starting" in text_of(header))

    try:
        run(scenario())
    finally:
        launches.close()
        worker.kill()
        worker.wait()


def test_a_running_trials_value_and_epochs_are_live_and_ranked(isolated: Path) -> None:
    folder = write_sweep(isolated / "sweeps")
    text = folder.leaderboard_file.read_text().replace("3,waiting,", "3,running,")
    folder.leaderboard_file.write_text(text)
    live = write_run(folder.runs_dir, "trial-003", epochs=4, done=2, state="running", acc_gain=0.3)

    async def scenario() -> None:
        with live.lock():  # its engine holds the run
            app = Hw3tuiApp()
            async with app.run_test(size=SIZE) as pilot:
                app.open_sweep(folder.path)
                await wait_for(pilot, lambda: app.screen.query(LeaderboardTable))
                board = app.screen.query_one(LeaderboardTable)
                await wait_for(pilot, lambda: board.row_count == 4)
                header = app.screen.query_one(RunHeader)
                await wait_for(pilot, lambda: "● running" in text_of(header))
                # trial 3 has 0.70 at epoch 1 so far: ranked with the others by it
                assert board.column_texts("trial") == ["2", "1", "3", "0"]
                assert board.column_texts("#") == ["1", "2", "3", "4"]
                row = [str(c) for c in board.get_row("3")]
                assert row[2:6] == ["● running", "0.7000", "1", "2/4"]
                status = live.read_status()
                assert status is not None
                status.epochs_done = 3
                status.best = {"epoch": 2, "metric": "val_acc", "value": 0.95, "path": "best/x"}
                live.write_status(status)
                await wait_for(pilot, lambda: board.column_texts("trial")[0] == "3")
                assert [str(c) for c in board.get_row("3")][3:6] == ["0.9500", "2", "3/4"]
                assert "best 0.9500 (trial 3)" in text_of(header)
                # the running trial's run screen is one key away, wherever the cursor is
                board.move_cursor(row=3)
                await pilot.press("t")
                await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
                assert app.screen.run.path.resolve() == live.path  # type: ignore[attr-defined]

    run(scenario())


def test_a_sweep_that_fails_to_start_says_so_with_its_log(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refusal the TUI's own check cannot see (here: the database went away since)."""
    sweep_file = isolated / "x.sweep.yaml"
    sweep_file.write_text("name: x\nbase: quickstart\naxes:\n  schedule.lr: [0.1, 0.01]\n")

    def refusing(args: list[str], run: RunDir, **_: Any) -> subprocess.Popen[bytes]:
        (run.path / "log.txt").write_text("hw3tui: storage postgresql://h/db: cannot open\n")
        return subprocess.Popen(["sh", "-c", "exit 2"])

    monkeypatch.setattr(control, "launch_detached", refusing)

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE) as pilot:
            app.start_sweep(sweep_file, "x")
            await wait_for(pilot, lambda: app.screen.query(RunHeader))
            assert isinstance(app.screen, SweepScreen)
            assert app.screen.folder.path.parent == Path("sweeps")
            header = app.screen.query_one(RunHeader)
            await wait_for(pilot, lambda: "failed to start (exit 2" in text_of(header))
            log = app.screen.query_one(LogTail)
            await wait_for(pilot, lambda: log.line_count == 1)
            assert "storage postgresql://h/db: cannot open" in log.lines[0]

    run(scenario())


def test_a_repeated_sweep_groups_its_seeds_by_configuration(isolated: Path) -> None:
    from hw3tui.sweeps.folder import Row, SweepDir, leaderboard_text

    folder = SweepDir(isolated / "sweeps" / "rep-20260101-000000")
    folder.runs_dir.mkdir(parents=True)
    folder.sweep_file.write_text(
        "name: rep\nbase: quickstart\nrepeat: 2\naxes:\n  schedule.lr: [0.001, 0.01]\n"
    )
    rows = []
    for config, gains in enumerate([(0.1, 0.15), (0.05, 0.06)]):
        for seed, gain in enumerate(gains):
            name = f"trial-{config:03d}-s{seed}"
            write_run(folder.runs_dir, name, epochs=4, acc_gain=gain)
            value = round(0.4 + gain * 3, 4)
            params = {"schedule.lr": ["0.001", "0.01"][config]}
            rows.append(Row(config, "done", value, 3, f"runs/{name}", params, seed=seed))
    folder.leaderboard_file.write_text(leaderboard_text(rows, ["schedule.lr"]))

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE) as pilot:
            app.open_sweep(folder.path)
            await wait_for(pilot, lambda: bool(app.screen.query(LeaderboardTable)))
            board = app.screen.query_one(LeaderboardTable)
            await wait_for(pilot, lambda: board.row_count == 2, what="one row per configuration")
            assert board.column_texts("config") == ["0", "1"]
            assert board.column_texts("value") == ["0.7750 ± 0.1061", "0.5650 ± 0.0212"]
            assert board.column_texts("n") == ["2", "2"]
            assert board.column_texts("verdict") == ["best", "within noise"]
            assert "best mean 0.7750 (config 0)" in text_of(app.screen.query_one(RunHeader))

    run(scenario())


def test_a_cancelled_sweep_says_stopping_until_its_workers_end(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the cancel, more of the sweep's files change while its workers save: the header
    keeps `stopping…` through those updates, and says `stopped` once the workers have ended."""
    folder = write_sweep(isolated / "sweeps")
    signalled: list[Path] = []

    def interrupt_workers(sweep_path: Path) -> int:
        signalled.append(sweep_path)  # the worker below is this test: it ends when told to
        return 1

    monkeypatch.setattr(workers, "interrupt_workers", interrupt_workers)

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE) as pilot:
            with workers.hold_worker(folder.path):  # a live worker, as `hw3tui sweep` holds
                app.open_sweep(folder.path)
                await wait_for(pilot, lambda: app.screen.query(RunHeader))
                screen = app.screen
                header = screen.query_one(RunHeader)
                await wait_for(pilot, lambda: "● running" in text_of(header), what="running")
                await pilot.press("c")
                await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
                await pilot.press("y")
                await wait_for(pilot, lambda: "stopping…" in text_of(header), what="stopping")
                assert signalled == [folder.path]
                # the worker saves its trials and logs it: one more update of the folder
                (folder.path / "log.txt").write_text("trial 3 cancelled: resumable\n")
                log = screen.query_one(LogTail)
                await wait_for(pilot, lambda: log.line_count == 1, what="the log line")
                await pilot.pause()
                assert "stopping…" in text_of(header)
            await wait_for(pilot, lambda: "stopped" in text_of(header), what="stopped")
            assert "stopping" not in text_of(header)

    run(scenario())


def toasts(app: Hw3tuiApp) -> list[str]:
    """The notifications on screen, as a user reads them (title, then message)."""
    return [str(toast.render()) for toast in app.screen.query("Toast")]


@pytest.mark.parametrize(
    ("storage", "problem"),
    [
        ("mysql://x", "storage mysql://x: its driver (mysqldb) is not installed"),
        ("sqlite:////no/such/folder/x.db", "storage sqlite:////no/such/folder/x.db: no folder"),
    ],
)
def test_a_sweep_file_the_cli_refuses_makes_no_sweep_folder(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, storage: str, problem: str
) -> None:
    """Refused by `hw3tui sweep`'s own checks before the TUI makes anything: its one line is
    an error notification, no folder appears among the sweeps, nothing is started."""
    launches = Launches()
    monkeypatch.setattr(control, "launch_detached", launches)
    sweep_file = isolated / "x.sweep.yaml"
    sweep_file.write_text(
        f"name: x\nbase: quickstart\nstorage: {storage}\naxes:\n  schedule.lr: [0.1, 0.01]\n"
    )

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            app.start_sweep(sweep_file, "x")
            await wait_for(pilot, lambda: toasts(app), what="a notification")
            [shown] = toasts(app)
            title, message = shown.split("\n", 1)
            assert title == "Sweep not started"
            assert message.startswith(problem)
            assert "\n" not in message
            assert not isinstance(app.screen, SweepScreen)

    run(scenario())
    assert not launches.started
    assert not Path("sweeps").exists() or not any(Path("sweeps").iterdir())


def test_the_tuis_checks_of_a_new_sweep_import_no_torch(
    isolated: Path, subprocess_env: dict[str, str]
) -> None:
    """The checks the TUI runs in its own process before it starts a sweep or an ablation."""
    import sys

    Path("ok.sweep.yaml").write_text(
        "name: ok\nbase: quickstart\nstorage: sqlite:///ok.db\naxes:\n  schedule.lr: [0.1]\n"
    )
    code = (
        "import sys\nfrom pathlib import Path\n"
        "from hw3tui.tui.app import checked_ablation, checked_sweep\n"
        "checked_sweep(Path('ok.sweep.yaml'))\n"
        "checked_ablation('quickstart', 3, ())\n"
        "print([m for m in ('torch', 'torchvision') if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env
    )
    assert done.stdout.strip() == "[]", done.stderr
    assert not Path("ok.db").exists()
