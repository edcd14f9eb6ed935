"""`report.md`: the write-up of one or more runs, as Markdown a git host renders as is.

Outline: a table of the runs (what differs in their presets as columns, best val acc and its
epoch, epochs, duration, device), the comparison figure, then per run its figures, its notes
and its checkpoint pieces with the `cat` command that joins them. Links are relative (the
figures sit beside report.md). Text from other people (run names, class names, notes) is data:
table cells are escaped so they cannot break the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from hw3tui.humanize import format_duration


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


def cell(text: object) -> str:
    """A table cell: one line, `|` escaped."""
    return " ".join(str(text).split()).replace("|", "\\|") or "–"


def link(path: str) -> str:
    """A relative link target (spaces and parentheses escaped by angle brackets)."""
    return f"<{PurePosixPath(path)}>"


def report_markdown(
    sections: Sequence[RunSection],
    fields: Sequence[str],
    *,
    comparison: str | None = None,
    title: str = "Experiments",
) -> str:
    lines = [f"# {title}", ""]
    header = ["run", *(f"`{f}`" for f in fields), "best val acc", "best epoch", "epochs"]
    header += ["duration", "device", "state"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for s in sections:
        best = ("–", "–") if s.best is None else (f"{s.best[0]:.4f}", str(s.best[1]))
        planned = f"/{s.epochs_planned}" if s.epochs_planned else ""
        row = [s.name, *s.values, *best, f"{s.epochs_done}{planned}"]
        row += [format_duration(s.duration), s.device or "–", s.state]
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    lines.append("")
    if comparison is not None:
        lines += ["## Validation accuracy of the runs", "", f"![val acc]({link(comparison)})", ""]
    for s in sections:
        lines += _section(s)
    return "\n".join(lines).rstrip("\n") + "\n"


def _section(s: RunSection) -> list[str]:
    lines = [f"## {cell(s.name)}", ""]
    for remark in s.remarks:
        lines += [f"*{cell(remark)}*", ""]
    for title, path in s.figures:
        lines += [f"### {title}", "", f"![{title}]({link(path)})", ""]
    lines += ["### Notes", ""]
    notes = s.notes.strip()
    lines += (
        [*(f"> {line}" if line else ">" for line in notes.splitlines()), ""]
        if notes
        else [
            '*no notes (add one with `hw3tui note RUN "why"`)*',
            "",
        ]
    )
    lines += ["### Checkpoint", ""]
    if s.pieces:
        listed = ", ".join(f"`{cell(p)}`" for p in s.pieces)
        lines += [
            f"The best model is saved in {len(s.pieces)} piece(s) in `{cell(s.best_folder)}`: "
            f"{listed}. Join them with:",
            "",
            "```sh",
            f"cat {s.joined}.* > {s.joined}",
            "```",
            "",
        ]
    else:
        lines += ["*no best checkpoint*", ""]
    return lines
