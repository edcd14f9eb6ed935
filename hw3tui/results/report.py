"""`report.md`: the write-up of one or more runs, as Markdown a git host renders as is.

Outline: the Findings section (`hw3tui.results.findings`), a table of the runs (what differs
in their presets as columns, best val acc and its epoch, epochs, duration, device), the
comparison figure, then per run its figures, its notes
and its checkpoint pieces with the `cat` command that joins them. Links are relative (the
figures sit beside report.md). Text from other people (run names, values, file names) is data,
written through `hw3tui.results.markdown`: it cannot break the table, a heading or a link. The
notes are the student's own Markdown, kept as Markdown with control characters escaped.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from hw3tui.humanize import format_duration
from hw3tui.results.i18n import N_, _
from hw3tui.results.markdown import code, target, text
from hw3tui.untrusted import printable

if TYPE_CHECKING:
    from hw3tui.results.sweep_report import SweepSection


@dataclass(frozen=True)
class RunSection:
    """What the report says about one run."""

    name: str
    values: list[str]
    """Its value of each differing preset field."""
    best: tuple[float, int] | None
    epochs_done: int
    epochs_planned: int | None
    duration: float | None
    device: str
    state: str
    figures: list[tuple[str, str]] = field(default_factory=list)
    """(title, path relative to report.md)."""
    remarks: list[str] = field(default_factory=list)
    notes: str = ""
    pieces: list[str] = field(default_factory=list)
    """Checkpoint chunk file names (in the run's best/ folder)."""
    joined: str = ""
    """The joined checkpoint's file name."""
    best_folder: str = ""
    """The run's best/ folder relative to report.md; "" names it by the run (a report goes to a
    git host: never an absolute path of the machine that wrote it)."""


STATES = frozenset(
    (
        N_("running"),
        N_("done"),
        N_("failed"),
        N_("cancelled"),
        N_("killed"),
        N_("starting"),
        N_("unknown"),
        N_("stopped"),
        N_("pruned"),
        N_("waiting"),
        N_("stopping…"),
        N_("failed to start"),
    )
)
"""Every `hw3tui.runs.states.RunState` word, for the report's table (translated there)."""


def cell(value: object) -> str:
    """A table cell: one line of literal text (`|` escaped), a dash when empty."""
    return text(value).strip() or "–"


def link(path: str) -> str:
    """A relative link target, percent-encoded."""
    return target(PurePosixPath(path).as_posix())


def report_markdown(
    sections: Sequence[RunSection],
    fields: Sequence[str],
    *,
    comparison: str | None = None,
    title: str | None = None,
    findings: Sequence[str] = (),
    sweeps: Sequence[SweepSection] = (),
    explained: Sequence[Sequence[str]] = (),
) -> str:
    """`title`: the user's (None: "Experiments" in the language in force). `explained`: a "Why B
    beat A" subsection per compared pair, already Markdown
    (`hw3tui.results.explain.Explanation.markdown`)."""
    lines = [f"# {text(_('Experiments') if title is None else title)}", ""]
    lines += findings  # the Findings section, already Markdown (`findings_markdown`)
    header = [_("run"), *(code(f, in_table=True) for f in fields)]
    header += [_("best val acc"), _("best epoch")]
    header += [_("epochs"), _("duration"), _("device"), _("state")]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for s in sections:
        best = ("–", "–") if s.best is None else (f"{s.best[0]:.4f}", str(s.best[1]))
        planned = f"/{s.epochs_planned}" if s.epochs_planned else ""
        row = [s.name, *s.values, *best, f"{s.epochs_done}{planned}"]
        state = _(s.state) if s.state in STATES else s.state
        row += [format_duration(s.duration), s.device or "–", state]
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    lines.append("")
    if comparison is not None:
        heading, alt = _("Validation accuracy of the runs"), _("val acc")
        lines += [f"## {heading}", "", f"![{alt}]({link(comparison)})", ""]
    if explained:
        lines += ["## " + _("Why B beat A"), ""]
        for block in explained:
            lines += block
    if sweeps:
        from hw3tui.results.sweep_report import sweep_lines  # it uses this module's cell, link

        for sweep in sweeps:
            lines += sweep_lines(sweep)
    for s in sections:
        lines += _section(s)
    return "\n".join(lines).rstrip("\n") + "\n"


def _section(s: RunSection) -> list[str]:
    lines = [f"## {cell(s.name)}", ""]
    for remark in s.remarks:
        lines += [f"*{cell(remark)}*", ""]
    for title, path in s.figures:
        lines += [f"### {text(title)}", "", f"![{text(title)}]({link(path)})", ""]
    lines += ["### " + _("Notes"), ""]
    # the student's own Markdown (a copied notes.md may hold anything: control characters are
    # escaped line by line, so the quote stays a quote and a terminal showing it obeys nothing)
    notes = [printable(line) for line in s.notes.strip().splitlines()]
    lines += (
        [*(f"> {line}" if line else ">" for line in notes), ""]
        if notes
        else [
            "*" + _('no notes (add one with `hw3tui note RUN "why"`)') + "*",
            "",
        ]
    )
    lines += ["### " + _("Checkpoint"), ""]
    if s.pieces:
        listed = ", ".join(code(p) for p in s.pieces)
        joined = printable(s.joined)
        if s.best_folder:
            where = code(s.best_folder)
            chunks = printable((PurePosixPath(s.best_folder) / s.joined).as_posix())
        else:
            where = _("the `best/` folder of run {name}").format(name=code(s.name))
            chunks = joined
        command = f"cat {shlex.quote(chunks)}.* > {shlex.quote(joined)}"
        fence = "`" * max(3, _longest_backticks(command) + 1)
        lines += [
            _(
                "The best model is saved in {count} piece(s) in {folder}: {listed}. Join them with:"
            ).format(count=len(s.pieces), folder=where, listed=listed),
            "",
            f"{fence}sh",
            command,
            fence,
            "",
        ]
    else:
        lines += ["*" + _("no best checkpoint") + "*", ""]
    return lines


def _longest_backticks(line: str) -> int:
    """The longest run of backticks in `line`: a code fence must be longer to hold it."""
    longest = run = 0
    for char in line:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return longest
