"""Every reader of run folders, on every hostile run folder of the corpus (issue 20).

Test ids read `test_reader[READER-CASE]`; the case's `item` in hostile_corpus.py is the hole of
issue 20 whose fix makes it pass. Each reader gets a runs folder with the real run (`clean-...`)
and one hostile copy, and must: exit 0, 1 or 2 (0 where the run is still readable, 2 with one
line where the case breaks what it needs), print no traceback, and put no raw ESC, BEL or C1
byte on stdout, stderr or into any text file it writes.
"""

from __future__ import annotations

import asyncio
import json
import re
import traceback
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import Corpus, build_case
from hostile_check import (
    Outcome,
    assert_clean,
    assert_files_clean,
    fifo_watchdog,
    invoke,
    screen_text,
    settle,
)
from hostile_corpus import CLEAN_NAME, CLI_READERS, READERS, RUN_CASES, RunCase

SMALL = ["--format", "svg", "--size", "320x240", "--dpi", "50"]
"""svg: the figures are text, so their bytes are checked too (matplotlib writes each title in a
comment beside its glyphs)."""


@pytest.fixture(params=list(RUN_CASES))
def corpus(request: pytest.FixtureRequest, real_run: Path, tmp_path: Path) -> Corpus:
    return build_case(real_run, tmp_path / "case", request.param)


TEXT_ONLY = ("events-", "status-", "notes-", "log-")
"""Cases that leave best/, preset.yaml and the name alone: the evaluation figures of `plot` are
the clean run's, so `plot --no-eval` (seconds less) reads all that such a case breaks."""


def cli_args(reader: str, c: Corpus, key: str) -> list[str | Path]:
    no_eval = ["--no-eval"] if key.startswith(TEXT_ONLY) else []
    # two runs where names matter: the comparison figure and the table label runs by name
    others = [c.clean] if key.startswith(("name-", "all-")) else []
    return {
        "runs": ["runs", "--runs-dir", c.runs_dir],
        "runs-json": ["runs", "--json", "--runs-dir", c.runs_dir],
        "compare": ["compare", c.hostile, c.clean, "--runs-dir", c.runs_dir],
        "plot": ["plot", c.hostile, "-o", c.out / "figures", *SMALL, *no_eval],
        "report": ["report", c.hostile, *others, "-o", c.out / "report", *SMALL],
        "eval": ["eval", c.hostile, "--csv", c.out / "eval.csv"],
    }[reader]


def check_exit(outcome: Outcome, case: RunCase, reader: str, where: str) -> None:
    if reader in case.refused:
        assert outcome.exit_code == 2, f"{where}: expected exit 2\n{outcome.shown()}"
        # one line: `error: ...`, or located like a preset's problems (`file:line:col: ...`)
        lines = outcome.stderr.decode(errors="replace").strip().splitlines()
        assert len(lines) == 1, f"{where}: expected one error line\n{outcome.shown()}"
    elif reader in case.ok:
        assert outcome.exit_code == 0, f"{where}: expected exit 0\n{outcome.shown()}"


@pytest.mark.parametrize("reader", CLI_READERS)
def test_cli_reader(reader: str, corpus: Corpus, request: pytest.FixtureRequest) -> None:
    key = request.node.callspec.params["corpus"]
    case = RUN_CASES[key]
    where = f"hw3tui {reader} on {key} (issue 20 item {case.item})"
    outcome = invoke(cli_args(reader, corpus, key), corpus.runs_dir)
    assert_clean(outcome, where)
    check_exit(outcome, case, reader, where)
    assert_files_clean(corpus.out)
    if reader == "runs-json":
        listed = {Path(r["path"]).name: r for r in json.loads(outcome.stdout)}
        # one reader, one answer: a folder compare reads is a run `runs` lists (item 10)
        assert corpus.hostile.name in listed and CLEAN_NAME in listed, (where, sorted(listed))
        if case.state is not None:
            assert listed[corpus.hostile.name]["state"] == case.state, (where, listed)
    if reader == "report" and outcome.exit_code == 0:
        assert_report_renders(corpus.out / "report", where)


# --- report.md on a git host ----------------------------------------------------------------------

PIPE = re.compile(r"(?<!\\)\|")
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)")
LINK = re.compile(r"!?\[((?:[^\[\]\\\n]|\\.)*)\]\((<[^<>\n]*>|(?:[^()\s\\]|\\.)+)\)")


def assert_report_renders(folder: Path, where: str) -> None:
    """The runs table keeps one cell per column on every row, and every figure written is the
    target of a well-formed relative link (item 6: `|`, newline, `[`, `]`, backtick in names)."""
    text = (folder / "report.md").read_text()
    tables: list[list[str]] = []
    previous = ""
    for line in text.splitlines():
        if line.startswith("|"):
            if not previous.startswith("|"):
                tables.append([])
            tables[-1].append(line)
        previous = line
    assert tables, (where, text[:2000])
    for rows in tables:
        widths = {len(PIPE.findall(row)) for row in rows}
        # a `|` or a newline in a name splits or cuts a row: the cells no longer line up
        assert len(widths) == 1 and all(r.rstrip().endswith("|") for r in rows), (where, rows)
    # a code span is literal text: brackets in it make no link (the `cat` line names the folder)
    prose = CODE_SPAN.sub("", text)
    targets = {unquote(m[2].strip("<>")) for m in LINK.finditer(prose)}
    written = {p.relative_to(folder).as_posix() for p in folder.rglob("*.svg")}
    assert written <= targets, (where, sorted(written - targets), sorted(targets))
    for target in targets:
        if "://" not in target and not target.startswith("#"):
            assert (folder / target).exists(), (where, target)


# --- the TUI --------------------------------------------------------------------------------------


def run_tui(corpus: Corpus, *, open_run: bool) -> tuple[Outcome, int]:
    """The home screen on the corpus (and the hostile run's screen): what it drew, whether it
    crashed, and how many runs it listed."""
    from hw3tui.tui.app import Hw3tuiApp
    from hw3tui.tui.screens.run import RunScreen
    from hw3tui.tui.widgets.log_tail import LogTail
    from hw3tui.tui.widgets.runs_table import RunsTable

    drawn: list[bytes] = []
    listed = 0

    async def scenario() -> None:
        nonlocal listed
        app = Hw3tuiApp(
            presets_dir=corpus.out / "presets",
            runs_dir=corpus.runs_dir,
            sweeps_dir=corpus.out / "sweeps",
        )
        async with app.run_test(size=(140, 40)) as pilot:
            table = app.screen.query_one(RunsTable)
            await settle(pilot, lambda: len(table.rows_shown) >= 2, timeout=5)
            listed = len(table.rows_shown)
            drawn.append(screen_text(app))
            if open_run:
                app.call_later(app.open_run, corpus.hostile)  # what enter on its row does
                await settle(pilot, lambda: isinstance(app.screen, RunScreen))
                screen = app.screen
                await settle(pilot, lambda: screen.query_one(LogTail).line_count > 0, timeout=3)
                await pilot.pause(0.3)
                drawn.append(screen_text(app))

    crash = None
    with fifo_watchdog(corpus.runs_dir) as blocked:
        try:
            asyncio.run(scenario())
        except Exception:
            crash = traceback.format_exc()
    return Outcome(0 if crash is None else 1, b"\n".join(drawn), b"", crash, blocked), listed


@pytest.mark.parametrize("reader", ["tui-home", "tui-run"])
def test_tui_reader(reader: str, corpus: Corpus, request: pytest.FixtureRequest) -> None:
    key = request.node.callspec.params["corpus"]
    case = RUN_CASES[key]
    where = f"TUI {reader} on {key} (issue 20 item {case.item})"
    outcome, listed = run_tui(corpus, open_run=reader == "tui-run")
    assert_clean(outcome, where)  # a crash counts as a traceback: the app must survive it
    if reader == "tui-home":
        assert listed == 2, f"{where}: listed {listed} of 2 runs (item 10)"


def test_the_corpus_covers_every_reader() -> None:
    assert {"tui-home", "tui-run", *CLI_READERS} == set(READERS)
