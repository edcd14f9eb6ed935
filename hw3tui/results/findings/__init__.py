"""Findings: the sentences a write-up says about runs and sweeps, each with its numbers.

Computed from run folders (events, status.json, through `hw3tui.runs`), a sweep's configs.csv
and ablation.csv, and, when the caller has one, an evaluation of a run's best checkpoint
(`EvalReport`: the engine makes it; this package never imports torch). Every number of a
sentence comes with where it was read or what it is computed from (`Number`), so a reader can
check each one: `hw3tui findings --json` prints them, `hw3tui report` opens with them.

    found = findings_of([RunDir(path)])
    for finding in found: print(finding.section, finding.sentence)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hw3tui.results.comparison import Comparison, load_side
from hw3tui.results.eval_report import EvalReport
from hw3tui.results.findings._groups import (
    ablation,
    configurations,
    over_seeds,
    per_class,
    sweep_configurations,
)
from hw3tui.results.findings._model import SECTIONS, Finding, Number, in_order
from hw3tui.results.findings._run import GAP, MIN_EPOCHS, PATIENCE, run_findings
from hw3tui.results.i18n import _
from hw3tui.runs import RunDir

__all__ = [
    "GAP",
    "MIN_EPOCHS",
    "PATIENCE",
    "SECTIONS",
    "Finding",
    "Number",
    "by_section",
    "findings_json",
    "findings_markdown",
    "findings_of",
]

FORMAT = 1
"""The version of `findings_json`'s shape."""


def findings_of(
    runs: Sequence[RunDir],
    sweeps: Sequence[Path] = (),
    evaluations: Mapping[str, EvalReport] | None = None,
) -> list[Finding]:
    """Every finding about `runs` (a sweep's trials among them) and `sweeps`, in the homework's
    order. `evaluations`: a run's name -> its best checkpoint on its val set (per class)."""
    sides = [load_side(run) for run in runs]
    found: list[Finding] = []
    gains: dict[str, Number] = {}
    for side in sides:
        of_run, gain = run_findings(side)
        found += of_run
        if gain is not None:
            gains[side.name] = gain
        report = (evaluations or {}).get(side.name)
        if report is not None:
            found += per_class(side.name, report)
    tabled = [s for s in sweeps if (s / "configs.csv").is_file() or (s / "ablation.csv").is_file()]
    if len(sides) > 1:
        comparison = Comparison(sides)
        found += over_seeds(comparison, gains)
        if not tabled:  # a sweep's own table judges its configurations
            found += configurations(comparison)
    for sweep in sweeps:
        found += sweep_configurations(sweep)
        found += ablation(sweep)
    return in_order(found)


def by_section(findings: Sequence[Finding]) -> list[tuple[str, list[Finding]]]:
    """(section, its findings) for each section that has any, in the homework's order."""
    return [
        (section, [f for f in findings if f.section == section])
        for section in SECTIONS
        if any(f.section == section for f in findings)
    ]


def findings_json(findings: Sequence[Finding]) -> dict[str, Any]:
    """What `hw3tui findings --json` prints (the public format, in the README)."""
    return {"format": FORMAT, "findings": [f.as_json() for f in findings]}


def findings_markdown(findings: Sequence[Finding]) -> list[str]:
    """report.md's Findings section: a heading per section, one item per finding (someone
    else's text, escaped: `hw3tui.results.markdown`)."""
    from hw3tui.results.markdown import text

    lines = ["## " + _("Findings"), ""]
    if not findings:
        return [*lines, "*" + _("no findings yet (no finished epoch)") + "*", ""]
    for section, listed in by_section(findings):
        lines += [f"### {text(_(section))}", ""]
        lines += [f"- **{text(f.subject)}**: {text(f.sentence)}" for f in listed]
        lines.append("")
    return lines
