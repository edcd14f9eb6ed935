"""`hw3tui report RUN|SWEEP... -o DIR`: DIR/report.md with its figures beside it.

The report is drawn in a temporary folder, then put into DIR by `hw3tui.results.report_folder`:
only files a report wrote (listed in DIR/.hw3tui-report) are replaced or removed, so a file of
the user's in DIR is never lost.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hw3tui.commands.options import figure_options, figure_size, lang_option, runs_dir_option
from hw3tui.commands.targets import runs_of, sweeps_of
from hw3tui.errors import BadInput
from hw3tui.runs import RunDir
from hw3tui.untrusted import printable

if TYPE_CHECKING:
    from hw3tui.commands.run_figures import RunFigures
    from hw3tui.results.comparison import RunSide
    from hw3tui.results.figures import Size
    from hw3tui.results.sweep_report import SweepSection

REPORT_FILE = "report.md"


@click.command()
@click.argument("targets", nargs=-1, required=True, metavar="RUN|SWEEP...")
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder of the report: new, empty or an earlier report's (only files a report wrote "
    "are replaced; yours are kept).",
)
@figure_options
@click.option(
    "--title", default=None, help="The report's heading  [default: Experiments, in --lang]."
)
@lang_option
@runs_dir_option()
def report(
    targets: tuple[str, ...],
    out: Path,
    fmt: str,
    size_text: str,
    dpi: int,
    title: str | None,
    runs_dir: Path | None,
) -> None:
    """Write DIR/report.md with its figures: the write-up of RUN... for a report.

    The findings (`hw3tui findings`: the same sentences), a table of the runs (what differs
    in their presets, best val acc and epoch, epochs, duration, device), their val acc on one
    figure, then per run its figures, its notes (`hw3tui note`) and its checkpoint pieces with
    the `cat` command that joins them. A SWEEP adds a section: each run's value against each
    axis, and the axes' importance (Optuna's PED-ANOVA) with importances.csv, or the sentence
    saying why there is none.

    Relative links only: the folder renders on a git host as is. DIR/.hw3tui-report lists the
    files a report wrote; a later report replaces only those, and refuses to overwrite a file
    you added or edited (an edited report.md). Exit codes: 0 written, 2 bad input.
    """
    from hw3tui.atomic import DiskFull
    from hw3tui.results.report_folder import ReportFolder, check_destination

    size = figure_size(size_text, dpi)
    runs = runs_of(targets, runs_dir)
    reported = [run.path for run in runs] + [Path(t) for t in targets if Path(t).is_dir()]
    try:
        check_destination(out, reported)
        folder = ReportFolder.open(out)
        with tempfile.TemporaryDirectory(prefix="hw3tui-report-") as built:
            sweeps = sweeps_of(targets, runs_dir)
            remarks = _write(runs, Path(built), out, size, fmt, title, sweeps)
            folder.publish(Path(built))
    except DiskFull as exc:
        raise BadInput(str(exc)) from None
    except OSError as exc:
        raise BadInput(f"-o {out}: cannot write: {exc.strerror or exc}") from None
    click.echo(
        f"wrote {printable(out / REPORT_FILE)} ({len(runs)} run{'s' if len(runs) != 1 else ''})"
    )
    for line in remarks:
        click.echo(printable(line))


def _write(
    runs: list[RunDir],
    staging: Path,
    out: Path,
    size: Size,
    fmt: str,
    title: str | None,
    sweeps: list[Path],
) -> list[str]:
    """Figures and report.md (to be published in `out`) into `staging`; the remarks to tell the
    user."""
    from hw3tui.atomic import write_text_atomic
    from hw3tui.commands.run_figures import FIGURE_TITLES, differences, draw
    from hw3tui.results.findings import findings_markdown, findings_of
    from hw3tui.results.i18n import _
    from hw3tui.results.report import RunSection, report_markdown

    sides, drawn, comparison = draw(runs, staging, size, fmt, evaluate=True)
    fields, values = differences(sides)
    sections = []
    remarks = []
    for side, figures, row in zip(sides, drawn, values, strict=True):
        history, summary = side.history, side.summary
        pieces, joined = _pieces(side.run)
        sections.append(
            RunSection(
                name=side.name,
                values=row,
                best=history.best_of("val_acc"),
                epochs_done=history.epochs_done,
                epochs_planned=history.epochs_planned or (summary.epochs if summary else None),
                duration=summary.duration if summary else None,
                device=history.device or "",
                state=side.state,
                figures=[
                    (_(FIGURE_TITLES[kind]), path.relative_to(staging).as_posix())
                    for kind, path in figures.files.items()
                ],
                remarks=figures.remarks,
                notes=side.run.read_notes(),
                pieces=pieces,
                joined=joined,
                best_folder=_best_folder(side.run, out),
            )
        )
        remarks += [f"{side.name}: {remark}" for remark in figures.remarks]
    relative = None if comparison is None else comparison.relative_to(staging).as_posix()
    evaluations = {f.side.name: f.evaluation for f in drawn if f.evaluation is not None}
    found = findings_markdown(findings_of(runs, sweeps, evaluations))
    swept = [_sweep_section(sweep, staging, size, fmt) for sweep in sweeps]
    explained, told = _explained(sides, drawn, staging, size, fmt)
    remarks += told
    text = report_markdown(
        sections,
        fields,
        comparison=relative,
        title=title,
        findings=found,
        sweeps=swept,
        explained=explained,
    )
    write_text_atomic(staging / REPORT_FILE, text)
    return remarks


def _sweep_section(sweep: Path, staging: Path, size: Size, fmt: str) -> SweepSection:
    """A sweep's figures into `staging/<sweep>/` and what the report says of them."""
    from hw3tui.commands.sweep_figures import draw_sweep
    from hw3tui.results.sweep_report import SweepSection

    done = draw_sweep(sweep, staging, size, fmt)
    return SweepSection(
        name=done.name,
        sentences=done.sentences,
        figures=[(title, path.relative_to(staging).as_posix()) for title, path in done.figures],
        table="" if done.table is None else done.table.relative_to(staging).as_posix(),
    )


def _explained(
    sides: list[RunSide], drawn: list[RunFigures], staging: Path, size: Size, fmt: str
) -> tuple[list[list[str]], list[str]]:
    """ "Why B beat A" for the first run (A) against each other run (B) whose best checkpoints
    were evaluated, with the figure of their flipped images; a remark for a pair on different
    val sets."""
    from hw3tui.commands.explain_pair import DifferentValSets, draw_flips, evaluated, explain_pair
    from hw3tui.results.figures import FORMATS
    from hw3tui.results.report import link

    chosen = next(f for f in FORMATS if f == fmt)
    blocks: list[list[str]] = []
    remarks: list[str] = []
    first = drawn[0].evaluated if drawn else None
    for number, (side, figures) in enumerate(zip(sides[1:], drawn[1:], strict=True), start=1):
        if first is None or figures.evaluated is None:
            continue
        pair = (sides[0], side)
        try:
            explanation = explain_pair(pair, (evaluated(first), evaluated(figures.evaluated)))
        except DifferentValSets as exc:
            remarks.append(f'no "Why B beat A" for {side.name}: {exc}')
            continue
        path = staging / f"flips-{number}.{chosen}"
        draw_flips(explanation, (pair[0].run, side.run), path, size=size, fmt=chosen)
        blocks.append(explanation.markdown(link(path.name)))
    return blocks, remarks


def _pieces(run: RunDir) -> tuple[list[str], str]:
    """The run's checkpoint chunk names and the joined file's name (none: [], "")."""
    from hw3tui.checkpoints.format import CheckpointError
    from hw3tui.checkpoints.locate import locate

    try:
        source = locate(run.best_dir)
    except CheckpointError:
        return [], ""
    return source.chunks() if source.chunked else [source.name], source.name


def _best_folder(run: RunDir, out: Path) -> str:
    """The run's best/ folder relative to report.md in `out`, when both are inside the working
    directory (a checkout that goes to a git host whole); else "" (the report names the run):
    never an absolute path of this machine, nor a `../../home/someone/...` that spells one."""
    here = Path.cwd().resolve()
    best, folder = run.best_dir.resolve(), out.resolve()
    if not (best.is_relative_to(here) and folder.is_relative_to(here)):
        return ""
    return Path(os.path.relpath(best, folder)).as_posix()
