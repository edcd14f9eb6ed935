"""`hw3tui report -o DIR` never loses a user's file, and someone else's text (a run's name, its
notes) reaches report.md, the figures and the terminal escaped.

The runs are written by hand (a preset, events, a status, no checkpoint): the report draws their
curves and says "no best checkpoint", in a second, without training anything.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from urllib.parse import unquote

import pytest
from click.testing import CliRunner, Result

from hw3tui.cli import cli
from hw3tui.runs import RunDir
from hw3tui.runs.status import Status
from hw3tui.untrusted import printable

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny.yaml"
MARKER = ".hw3tui-report"
RAW = (b"\x1b", b"\x07", b"\x9b", b"\xc2\x9b")
HOSTILE_NAME = "a|b\nc[d]<e>`f`\x1b]0;PWNED\x07g\x9bh (1)"
"""A run folder's name with every character that breaks a table, a link or a terminal."""


def hw3tui(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def write_run(path: Path, *, lr: float = 0.001, epochs: int = 2) -> Path:
    """A finished run folder without a checkpoint: preset, events and status."""
    run = RunDir(path)
    path.mkdir(parents=True)
    run.preset_file.write_text(TINY.read_text().replace("lr: 0.001", f"lr: {lr}"))
    run.append_event({"type": "run_start", "time": 0.0, "preset": "tiny", "device": "cpu"})
    for epoch in range(epochs):
        run.append_event(
            {"type": "epoch_start", "time": 1.0 + epoch, "epoch": epoch, "lr": lr}
            | {"batch_size": 16, "weight_decay": 0.0}
        )
        run.append_event(
            {"type": "epoch_end", "time": 2.0 + epoch, "epoch": epoch, "train_loss": 1.0}
            | {"train_acc": 0.5, "val_loss": 1.0 - epoch / 10, "val_acc": 0.5 + epoch / 10}
        )
    status = {"state": "done", "pid": None, "started": 0.0, "ended": 9.0, "epochs": epochs}
    run.write_status(Status.from_json(status | {"epochs_done": epochs}))
    return path


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every entry under `folder` (files with their bytes, folders as None)."""
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def one_error_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


# --- a report never replaces or removes a user's file -----------------------------------------


def test_a_report_into_the_folder_that_holds_its_run_is_refused_and_nothing_moves(
    isolated: Path,
) -> None:
    """The issue's scenario: t3/ holds a hand-written report.md, homework.py and the run."""
    t3 = isolated / "t3"
    write_run(t3 / "runs" / "cleanname")
    (t3 / "report.md").write_text("# my own report\n")
    (t3 / "homework.py").write_text("print('mine')\n")
    before = tree(t3)
    line = one_error_line(hw3tui("report", "t3/runs/cleanname", "-o", "t3"))
    assert "t3" in line and "cleanname" in line
    assert tree(t3) == before
    # nor into the run itself, nor the folder of runs
    for inside in ("t3/runs/cleanname/report", "t3/runs"):
        one_error_line(hw3tui("report", "t3/runs/cleanname", "-o", inside))
    assert tree(t3) == before


def test_a_folder_with_a_hand_written_report_md_is_not_a_report_folder(isolated: Path) -> None:
    write_run(isolated / "runs" / "first")
    (isolated / "t4").mkdir()
    (isolated / "t4" / "report.md").write_text("# my own report\n")
    (isolated / "t4" / "homework.py").write_text("print('mine')\n")
    before = tree(isolated / "t4")
    line = one_error_line(hw3tui("report", "runs/first", "-o", "t4"))
    assert "not written by hw3tui report" in line
    assert tree(isolated / "t4") == before


@pytest.mark.parametrize("where", [".", "..", "/", "~", "cwd-parent", "cwd-absolute"])
def test_the_current_folder_its_parents_home_and_root_are_refused(
    isolated: Path, where: str
) -> None:
    write_run(isolated / "runs" / "first")
    (isolated / "homework.py").write_text("print('mine')\n")
    for folder in (isolated, isolated.parent, Path.home()):  # the old guard's one test
        (folder / "report.md").write_text("# my own report\n")
    out = {
        "~": str(Path.home()),
        "cwd-parent": str(isolated.parent),
        "cwd-absolute": str(isolated),
    }.get(where, where)
    before = tree(isolated)
    one_error_line(hw3tui("report", "runs/first", "-o", out))
    assert tree(isolated) == before


def test_a_second_report_keeps_the_users_files_and_replaces_only_its_own(isolated: Path) -> None:
    write_run(isolated / "runs" / "first")
    write_run(isolated / "runs" / "second", lr=0.01)
    first = hw3tui("report", "runs/first", "runs/second", "-o", "rep")
    assert first.exit_code == 0, first.output
    rep = isolated / "rep"
    marker = json.loads((rep / MARKER).read_text())
    written = {p for p, content in tree(rep).items() if content is not None and p != MARKER}
    assert set(marker["files"]) == written
    assert {"report.md", "val_acc.png", "first/curves.png", "second/curves.png"} <= written

    # the user adds files beside and inside hw3tui's
    (rep / "discussion.md").write_text("mine\n")
    (rep / "second" / "my-plot.png").write_bytes(b"mine")
    (rep / "homework.py").write_text("print('mine')\n")
    again = hw3tui("report", "runs/first", "-o", "rep")
    assert again.exit_code == 0, again.output
    assert (rep / "discussion.md").read_text() == "mine\n"
    assert (rep / "second" / "my-plot.png").read_bytes() == b"mine"
    assert (rep / "homework.py").read_text() == "print('mine')\n"
    # hw3tui's files of the run no longer reported are gone, the user's stay
    assert sorted(p.name for p in (rep / "second").iterdir()) == ["my-plot.png"]
    assert not (rep / "val_acc.png").exists()
    marker = json.loads((rep / MARKER).read_text())
    assert set(marker["files"]) == {"report.md", "first/curves.png", "first/schedules.png"}
    assert "second" not in (rep / "report.md").read_text()


def test_an_edited_report_md_is_kept(isolated: Path) -> None:
    write_run(isolated / "runs" / "first")
    assert hw3tui("report", "runs/first", "-o", "rep").exit_code == 0
    rep = isolated / "rep"
    edited = (rep / "report.md").read_text() + "\nMy discussion of the results.\n"
    (rep / "report.md").write_text(edited)
    before = tree(rep)
    line = one_error_line(hw3tui("report", "runs/first", "-o", "rep"))
    assert "report.md" in line and "changed since hw3tui wrote it" in line
    assert tree(rep) == before
    # a file of the user's where the report would write one is refused the same way
    (rep / "report.md").unlink()
    (rep / "first" / "curves.png").write_bytes(b"my own drawing")
    before = tree(rep)
    line = one_error_line(hw3tui("report", "runs/first", "-o", "rep"))
    assert "curves.png" in line
    assert tree(rep) == before


def test_an_empty_folder_is_fine_and_a_file_of_the_markers_name_is_not_trusted(
    isolated: Path,
) -> None:
    write_run(isolated / "runs" / "first")
    (isolated / "empty").mkdir()
    assert hw3tui("report", "runs/first", "-o", "empty").exit_code == 0
    # a marker someone wrote to claim the user's file does not make hw3tui remove it
    (isolated / "mine").mkdir()
    (isolated / "mine" / "thesis.tex").write_text("keep")
    (isolated / "mine" / MARKER).write_text(json.dumps({"files": {"thesis.tex": "0" * 64}}))
    result = hw3tui("report", "runs/first", "-o", "mine")
    assert result.exit_code == 0, result.output
    assert (isolated / "mine" / "thesis.tex").read_text() == "keep"


# --- someone else's text, escaped at every exit ------------------------------------------------


def table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ")]


def rendered(markdown: str) -> str:
    """Inline Markdown as a git host shows it (backslash escapes resolved)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def cells(row: str) -> int:
    """How many cells a GFM table row has (a `|` escaped by a backslash is text)."""
    return len(re.findall(r"(?<!\\)\|", row)) - 1


def test_a_hostile_run_name_and_note_stay_text_in_the_report(isolated: Path) -> None:
    hostile = write_run(isolated / "runs" / HOSTILE_NAME)
    write_run(isolated / "runs" / "plain", lr=0.01)
    noted = hw3tui("note", hostile, "why\x1b]0;PWNED\x07 | *this*\nsecond line\x9b")
    assert noted.exit_code == 0, noted.output
    stored = (hostile / "notes.md").read_bytes()
    assert not any(raw in stored for raw in RAW), stored
    assert r"why\x1b]0;PWNED\x07 | *this*" in stored.decode()
    assert not any(raw in noted.stdout_bytes for raw in RAW)
    # a notes.md written by another tool is escaped when it is quoted
    (isolated / "runs" / "plain" / "notes.md").write_text("copied\x1b[2J from a classmate\n")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = hw3tui(
            "report", "runs/plain", hostile, "-o", "rep", "--format", "svg", "--title", "T\x1b[2J"
        )
        plotted = hw3tui("plot", hostile, "-o", "figs", "--no-eval")
    assert result.exit_code == 0, result.output
    assert plotted.exit_code == 0, plotted.output
    assert not [w for w in caught if "Glyph" in str(w.message)]  # raw ESC in a figure title
    for done in (result, plotted):
        assert not any(raw in done.stdout_bytes + done.stderr_bytes for raw in RAW), done.output
    rep = isolated / "rep"
    data = (rep / "report.md").read_bytes()
    assert not any(raw in data for raw in RAW), data
    text = data.decode()
    header, *rows = table_rows(text)
    assert len(rows) == 2 and all(cells(row) == cells(header) for row in rows), rows
    # every link is one relative target that names a file of the report
    targets = re.findall(r"\]\(<([^<>\s]+)>\)", text)
    assert len(targets) == 2 * 2 + 1
    for target in targets:
        assert (rep / unquote(target)).is_file(), target
    # the name reads as itself, escapes written out, in its table cell and its heading
    shown = printable(HOSTILE_NAME)
    assert rendered(rows[1].split(" | ")[0].removeprefix("| ")) == shown
    assert f"## {shown}" in [rendered(line) for line in text.splitlines()]
    assert r"copied\x1b[2J from a classmate" in text
    for svg in rep.rglob("*.svg"):
        assert not any(raw in svg.read_bytes() for raw in RAW), svg


def test_a_report_killed_half_way_is_finished_by_the_next(isolated: Path) -> None:
    from hw3tui.atomic import write_bytes_atomic as written
    from hw3tui.results import report_folder

    write_run(isolated / "runs" / "first")
    write_run(isolated / "runs" / "second", lr=0.01)
    assert hw3tui("report", "runs/first", "-o", "rep").exit_code == 0
    (isolated / "rep" / "discussion.md").write_text("mine\n")
    calls = []

    def killed_after_three(path: Path, data: bytes) -> None:
        calls.append(path)
        if len(calls) > 3:
            raise RuntimeError("killed")
        written(path, data)

    with pytest.MonkeyPatch.context() as patch, pytest.raises(RuntimeError, match="killed"):
        patch.setattr(report_folder, "write_bytes_atomic", killed_after_three)
        hw3tui("report", "runs/first", "runs/second", "-o", "rep")
    assert "second" in (isolated / "rep" / "report.md").read_text()  # new, its figures not yet
    again = hw3tui("report", "runs/first", "runs/second", "-o", "rep")
    assert again.exit_code == 0, again.output
    assert (isolated / "rep" / "discussion.md").read_text() == "mine\n"
    marker = json.loads((isolated / "rep" / MARKER).read_text())
    assert all(isinstance(digest, str) for digest in marker["files"].values())
    assert "second" in (isolated / "rep" / "report.md").read_text()
