"""The report's section of a sweep: its per-axis figures and its hyperparameter importance."""

from __future__ import annotations

from dataclasses import dataclass, field

from hw3tui.results.markdown import text
from hw3tui.results.report import cell, link


@dataclass(frozen=True)
class SweepSection:
    """What the report says about one sweep."""

    name: str
    sentences: list[str] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)
    """(title, path relative to report.md)."""
    table: str = ""
    """importances.csv, relative to report.md."""


def sweep_lines(s: SweepSection) -> list[str]:
    lines = [f"## Sweep {cell(s.name)}", ""]
    lines += [" ".join(text(sentence) for sentence in s.sentences), ""]
    for title, path in s.figures:
        lines += [f"### {text(title)}", "", f"![{text(title)}]({link(path)})", ""]
    if s.table:
        lines += [f"The importances as a table: [importances.csv]({link(s.table)}).", ""]
    return lines
