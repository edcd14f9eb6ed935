"""A run folder someone else named (copied in from a classmate) is shown escaped, never obeyed."""

from __future__ import annotations

from pathlib import Path

from tui_fakes import write_run
from tui_pilot import run, text_of, wait_for

from hw3tui.tui.app import Hw3tuiApp
from hw3tui.tui.screens.evaluation import EvalScreen, _read
from hw3tui.tui.screens.run import RunScreen
from hw3tui.tui.widgets.best_panel import BestPanel
from hw3tui.tui.widgets.log_tail import LogTail
from hw3tui.tui.widgets.run_header import RunHeader
from hw3tui.tui.widgets.runs_table import RunsTable

HOSTILE = "tiny-\x1b]0;PWNED-TITLE\x07-\x9b31m"
SHOWN = r"tiny-\x1b]0;PWNED-TITLE\x07-\x9b31m"
RAW = ("\x1b", "\x07", "\x9b")


def test_home_and_run_screens_show_a_hostile_run_name_escaped(runs_dir: Path) -> None:
    write_run(runs_dir, HOSTILE, epochs=2)

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=(120, 34)) as pilot:
            table = app.screen.query_one(RunsTable)
            await wait_for(pilot, lambda: len(table.rows_shown) == 1)
            (key,) = table.rows_shown
            cells = " ".join(str(cell) for cell in table.get_row(key))
            assert SHOWN in cells
            assert not any(raw in cells for raw in RAW)

            table.focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
            screen = app.screen
            await wait_for(pilot, lambda: screen.history.epochs_done == 2, what="the events")
            await pilot.pause()
            header = text_of(screen.query_one(RunHeader))
            best = text_of(screen.query_one(BestPanel))
            assert SHOWN in header and "done" in header
            assert SHOWN in best  # the checkpoint's path, inside the run folder
            for shown in (header, best):
                assert not any(raw in shown for raw in RAW), repr(shown)

            app.push_screen(EvalScreen(screen.run))  # what `v` opens (its child is not awaited)
            await wait_for(pilot, lambda: isinstance(app.screen, EvalScreen))
            await pilot.pause()
            title = text_of(app.screen.query_one("#title"))
            assert SHOWN in title and not any(raw in title for raw in RAW)

    run(scenario())


def test_the_eval_screen_shows_a_childs_error_line_escaped() -> None:
    err = b"error: best/m.safetensors.000: metadata 'classes' holds \x1b]0;PWNED\x07\n"
    report, problem = _read(2, b"", err)
    assert report is None
    assert problem == r"best/m.safetensors.000: metadata 'classes' holds \x1b]0;PWNED\x07"


HOSTILE_LOG = (
    "loading\n"
    "\x1b]0;PWNED-TITLE\x07 title\n"
    "\x1b[2J cleared\n"
    "\x1b]52;c;aGk=\x07 clipboard\n"
    "\u009b31m c1 csi\n"
)
"""A log.txt that retitles the terminal, clears it, writes the clipboard and uses a C1 CSI
(written as UTF-8: the bytes c2 9b)."""


def test_run_screen_shows_a_hostile_log_escaped(runs_dir: Path) -> None:
    hostile = write_run(runs_dir, "tiny-20260101-000000", epochs=2)
    hostile.log_file.write_bytes(HOSTILE_LOG.encode("utf-8"))
    assert b"\xc2\x9b" in hostile.log_file.read_bytes()

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=(120, 34)) as pilot:
            await wait_for(pilot, lambda: len(app.screen.query(RunsTable)) == 1)
            app.open_run(hostile.path)
            await wait_for(pilot, lambda: len(app.screen.query(LogTail)) == 1)
            log = app.screen.query_one(LogTail)
            await wait_for(pilot, lambda: log.line_count >= 5, what="the log's lines")
            await pilot.pause()
            lines = list(log.lines)
            shown = "\n".join(lines)
            assert r"\x1b]0;PWNED-TITLE\x07 title" in lines
            assert r"\x1b[2J cleared" in lines
            assert r"\x1b]52;c;aGk=\x07 clipboard" in lines
            assert r"\x9b31m c1 csi" in lines
            assert not any(raw in shown for raw in RAW), repr(shown)

    run(scenario())


def test_run_screen_reads_past_non_finite_events(runs_dir: Path) -> None:
    """`"loss": NaN` in a progress event crashed the batch-loss sparkline, `"epoch": Infinity`
    the history: both lines are skipped, and the header says so."""
    broken = write_run(
        runs_dir, "tiny-20260101-000000", epochs=2, state="running", done=1, in_epoch_steps=2
    )
    with broken.events_file.open("a") as events:
        events.write(
            '{"type": "progress", "time": 1767225620.0, "epoch": 1, "step": 3, '
            '"steps": 6, "loss": NaN, "images_per_s": 400.0}\n'
        )
        events.write('{"type": "epoch_start", "time": 1767225621.0, "epoch": Infinity}\n')

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=(120, 34)) as pilot:
            await wait_for(pilot, lambda: len(app.screen.query(RunsTable)) == 1)
            app.open_run(broken.path)
            await wait_for(pilot, lambda: len(app.screen.query(RunHeader)) == 1)
            screen = app.screen
            assert isinstance(screen, RunScreen)
            await wait_for(pilot, lambda: screen.history.epochs_done == 1, what="the events")
            await pilot.pause()
            assert screen.history.current_epoch == 1
            header = text_of(screen.query_one(RunHeader))
            assert "2 lines of events.jsonl skipped" in header, header
            assert app.return_code is None  # still running, no exception

    run(scenario())


def test_home_lists_a_run_without_a_readable_status_as_unknown(runs_dir: Path) -> None:
    """`compare` showed such a run as done while the list left it out: one answer, everywhere."""
    write_run(runs_dir, "tiny-20260101-000000", epochs=2)
    write_run(runs_dir, "no-status", epochs=2).status_file.unlink()
    write_run(runs_dir, "bad-status", epochs=2).status_file.write_text('{"state": ')

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=(140, 34)) as pilot:
            table = app.screen.query_one(RunsTable)
            await wait_for(pilot, lambda: len(table.rows_shown) == 3, what="three runs")
            states = {row.name: row_state(table, key) for key, row in table.rows_shown.items()}
            assert states == {
                "tiny-20260101-000000": "✓ done",
                "no-status": "? unknown (status.json missing)",
                "bad-status": "? unknown (status.json is not valid JSON)",
            }
            app.open_run(runs_dir / "no-status")
            await wait_for(pilot, lambda: len(app.screen.query(RunHeader)) == 1)
            header = app.screen.query_one(RunHeader)
            await wait_for(
                pilot,
                lambda: "unknown (status.json missing)" in text_of(header),
                what="the run screen's state",
            )

    run(scenario())


def row_state(table: RunsTable, key: str) -> str:
    return str(table.get_row(key)[1])


def test_sweep_list_and_leaderboard_show_hostile_names_and_axis_values_escaped(
    isolated: Path,
) -> None:
    from tui_sweep_fakes import AXES, write_sweep

    from hw3tui.sweeps.folder import leaderboard_text, read_leaderboard
    from hw3tui.tui.screens.sweep import SweepScreen
    from hw3tui.tui.widgets.leaderboard_table import LeaderboardTable
    from hw3tui.tui.widgets.sweeps_table import SweepsTable

    folder = write_sweep(isolated / "sweeps", "grid-\x1b]0;PWNED-TITLE\x07-\x9b31m")
    _, rows = read_leaderboard(folder)
    rows[0].params["optimizer.name"] = "\x1b]52;c;aGk=\x07adam\x9b2J"
    folder.leaderboard_file.write_text(leaderboard_text(rows, AXES))

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=(140, 34)) as pilot:
            table = app.screen.query_one(SweepsTable)
            await wait_for(pilot, lambda: table.row_count == 1, what="the sweep listed")
            name = str(table.get_row_at(0)[0])
            assert name == r"grid-\x1b]0;PWNED-TITLE\x07-\x9b31m"
            table.focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen))
            board = app.screen.query_one(LeaderboardTable)
            await wait_for(pilot, lambda: board.row_count == 4, what="the leaderboard")
            values = board.column_texts("optimizer.name")
            assert values[0].startswith(r"\x1b]52;c;aGk=\x07adam"), values
            header = text_of(app.screen.query_one(RunHeader))
            for shown in (*values, header):
                assert not any(raw in shown for raw in RAW), repr(shown)

    run(scenario())
