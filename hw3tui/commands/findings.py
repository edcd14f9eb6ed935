"""`hw3tui findings RUN|SWEEP...`: what the runs show, one sentence per finding, each number
from the run files (`--json`: with where each was read). torch only for `per class`, which
evaluates each run's best checkpoint (skipped with --no-eval)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hw3tui.commands.options import lang_option, runs_dir_option
from hw3tui.commands.targets import runs_of, sweeps_of
from hw3tui.errors import BadInput, NoBestCheckpoint
from hw3tui.runs import RunDir
from hw3tui.untrusted import printable

if TYPE_CHECKING:
    from hw3tui.results.eval_report import EvalReport


def evaluations(runs: Sequence[RunDir]) -> tuple[dict[str, EvalReport], list[str]]:
    """Each run's best checkpoint on its val set (runs without one are left out), and why a
    run's could not be evaluated."""
    from hw3tui.commands.run_figures import evaluate_best

    found: dict[str, EvalReport] = {}
    problems: list[str] = []
    for run in runs:
        if not run.best_dir.is_dir():
            continue  # no checkpoint: nothing to evaluate, and no torch to import for it
        try:
            found[run.name] = evaluate_best(run).report
        except NoBestCheckpoint:
            continue
        except BadInput as exc:
            problems.append(f"no per-class findings: {exc}")
    return found, problems


@click.command()
@click.argument("targets", nargs=-1, required=True, metavar="RUN|SWEEP...")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON, with sources.")
@click.option(
    "--no-eval",
    is_flag=True,
    help="Skip evaluating each best checkpoint (no per-class findings; no torch).",
)
@lang_option
@runs_dir_option()
def findings(targets: tuple[str, ...], as_json: bool, no_eval: bool, runs_dir: Path | None) -> None:
    """What RUN... show, in sentences: the epoch kept, overfitting, schedules, verdicts.

    Sections in the homework's order: which epoch is kept, overfitting, schedules, optimizer
    and augmentation (what differs between configurations and its verdict), per class (the
    best checkpoint evaluated on the val set), ablation (a SWEEP's ablation.csv). Every number
    comes from events.jsonl, status.json, configs.csv, ablation.csv or the evaluation; --json
    says where each was read. --lang zh-TW: sentences and section names in Traditional Chinese
    (numbers and names as they are; --json keeps its keys and sections in English). Exit codes:
    0 done, 2 bad input.
    """
    from hw3tui.results.findings import by_section, findings_json, findings_of
    from hw3tui.results.i18n import _

    runs = runs_of(targets, runs_dir)
    reports, problems = ({}, []) if no_eval else evaluations(runs)
    found = findings_of(runs, sweeps_of(targets, runs_dir), reports)
    for problem in problems:
        click.echo(printable(problem), err=True)
    if as_json:
        click.echo(json.dumps(findings_json(found), indent=1))
        return
    for section, listed in by_section(found):
        click.echo(_(section))
        for finding in listed:
            click.echo(f"  {printable(finding.subject)}: {printable(finding.sentence)}")
    if not found:
        click.echo(_("no findings yet (no finished epoch)"))
