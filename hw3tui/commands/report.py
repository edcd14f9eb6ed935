"""`hw3tui report RUN|SWEEP... -o DIR`: DIR/report.md with its figures beside it.

The report is drawn in a temporary folder, then put into DIR by `hw3tui.results.report_folder`:
only files a report wrote (listed in DIR/.hw3tui-report) are replaced or removed, so a file of
the user's in DIR is never lost.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hw3tui.commands.findings import sweeps_of
from hw3tui.commands.options import figure_options, figure_size, lang_option, runs_dir_option
from hw3tui.commands.targets import runs_of
from hw3tui.errors import BadInput
from hw3tui.runs import RunDir
from hw3tui.untrusted import printable

if TYPE_CHECKING:
    from hw3tui.results.figures import Size

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
    figure, then per run its figures, its notes
    (`hw3tui note`) and its checkpoint pieces with the `cat` command that joins them.

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
            remarks = _write(runs, sweeps_of(targets), Path(built), size, fmt, title)
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
    runs: list[RunDir], sweeps: list[Path], staging: Path, size: Size, fmt: str, title: str | None
) -> list[str]:
    """Figures and report.md into `staging`; the remarks to tell the user."""
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
                best_folder=str(side.run.best_dir),
            )
        )
        remarks += [f"{side.name}: {remark}" for remark in figures.remarks]
    relative = None if comparison is None else comparison.relative_to(staging).as_posix()
    evaluations = {f.side.name: f.evaluation for f in drawn if f.evaluation is not None}
    found = findings_markdown(findings_of(runs, sweeps, evaluations))
    text = report_markdown(sections, fields, comparison=relative, title=title, findings=found)
    write_text_atomic(staging / REPORT_FILE, text)
    return remarks


def _pieces(run: RunDir) -> tuple[list[str], str]:
    """The run's checkpoint chunk names and the joined file's name (none: [], "")."""
    from hw3tui.checkpoints.format import CheckpointError
    from hw3tui.checkpoints.locate import locate

    try:
        source = locate(run.best_dir)
    except CheckpointError:
        return [], ""
    return source.chunks() if source.chunked else [source.name], source.name
