"""Results as a terminal shows them: eval tables, the runs table, runs compared, curves.

Rich renderables (no torch): `hw3tui eval`, `runs` and `compare` print them, and the TUI's eval
screen shows the same eval tables. Nothing here computes a figure: the numbers come from
`EvalReport`, `RunSummary` (through the TUI run list's own `RunRow`) and `Comparison`.
Names someone else chose (classes, runs, paths) are shown through `printable`, never raw.
"""

from __future__ import annotations

import contextlib
import string
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from hw3tui.preset.yamlio import flow

if TYPE_CHECKING:
    from hw3tui.console.run_rows import COLUMNS
    from hw3tui.results.comparison import Comparison
    from hw3tui.results.eval_report import EvalReport
from hw3tui.console.run_rows import COLUMNS, RunRow, state_style, state_text
from hw3tui.runs import RunSummary
from hw3tui.untrusted import printable

SPARKS = "▁▂▃▄▅▆▇█"
BAR_WIDTH = 10
MATRIX_MAX_CLASSES = 20
"""Above this, the confusion matrix is left to --csv / --json and the top mistakes are listed."""
PLOT_HEIGHT = 14
METRIC_LABELS = {
    "val_acc": "val acc",
    "val_loss": "val loss",
    "train_acc": "train acc",
    "train_loss": "train loss",
}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def _bar(value: float | None, width: int = BAR_WIDTH) -> str:
    if value is None:
        return ""
    filled = round(max(0.0, min(1.0, value)) * width)
    return "█" * filled + "░" * (width - filled)


def _table() -> Table:
    return Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)


def _heading(title: str, note: str = "") -> Text:
    text = Text("\n" + title, style="bold")
    if note:
        text.append(f"  ({note})", style="dim")
    return text


# --- eval ------------------------------------------------------------------------------------


def eval_summary(report: EvalReport) -> Text:
    """Accuracy first, then what was evaluated and how it compares with the run's record."""
    text = Text()
    text.append("accuracy ", style="bold")
    text.append(f"{report.accuracy:.4f}", style="bold green")
    text.append(f"  ({report.correct}/{report.images} images)")
    text.append("   loss ", style="bold")
    text.append("–" if report.loss is None else f"{report.loss:.4f}")
    checkpoint = report.checkpoint
    text.append("\ncheckpoint ", style="dim")
    text.append(printable(checkpoint.get("source", "?")))
    details = [printable(checkpoint.get("backbone", "?"))]
    if checkpoint.get("epoch") is not None:
        details.append(f"epoch {checkpoint['epoch']}")
    if checkpoint.get("image_size"):
        details.append(f"{checkpoint['image_size']} px")
    if report.device:
        details.append(printable(report.device))
    text.append(f" ({', '.join(details)})", style="dim")
    text.append("\nimages ", style="dim")
    text.append(printable(report.data))
    recorded = report.recorded or {}
    if isinstance(recorded.get("val_acc"), int | float):
        text.append("\nthe run recorded ", style="dim")
        text.append(f"val acc {recorded['val_acc']:.4f} at epoch {recorded['epoch']}")
        if report.matches_record:
            text.append("  ✓ reproduced", style="green")
        else:
            text.append("  ≠ differs (another device or precision?)", style="yellow")
    return text


def per_class_table(report: EvalReport) -> Table:
    table = _table()
    table.add_column("#", justify="right", style="dim")
    table.add_column("class")
    table.add_column("images", justify="right")
    table.add_column("correct", justify="right")
    table.add_column("accuracy", justify="right")
    table.add_column("", no_wrap=True)
    for result in report.per_class():
        accuracy = result.accuracy
        table.add_row(
            str(result.index),
            escape(printable(result.name)),
            str(result.images),
            str(result.correct),
            _pct(accuracy),
            _bar(accuracy),
            style="dim" if not result.images else None,
        )
    return table


def confusion_table(report: EvalReport) -> Table:
    """Rows: the true class; columns: the predicted class (by number, to stay narrow)."""
    table = _table()
    table.add_column("true \\ predicted", no_wrap=True)
    for index in range(len(report.classes)):
        table.add_column(str(index), justify="right")
    for index, (name, row) in enumerate(zip(report.classes, report.confusion, strict=True)):
        cells = [
            Text(str(n), style="bold green" if p == index and n else "red" if n else "dim")
            for p, n in enumerate(row)
        ]
        table.add_row(Text(f"{index} {printable(name)}"), *cells)
    return table


def mistakes_text(report: EvalReport) -> Text:
    text = _heading("Most frequent mistakes")
    mistakes = report.most_confused()
    if not mistakes:
        text.append("\nnone", style="dim")
    for mistake in mistakes:
        text.append(f"\n  {mistake.count:>5}  ")
        text.append(printable(mistake.true))
        text.append(" taken for ", style="dim")
        text.append(printable(mistake.predicted))
    return text


def eval_view(report: EvalReport) -> Group:
    """Everything `hw3tui eval` shows on a terminal (and the TUI's eval screen)."""
    parts: list[RenderableType] = [
        eval_summary(report),
        _heading("Per class"),
        per_class_table(report),
    ]
    if len(report.classes) <= MATRIX_MAX_CLASSES:
        parts += [
            _heading("Confusion matrix", "rows: the true class, columns: the predicted one"),
            confusion_table(report),
        ]
    else:
        parts.append(
            Text(
                f"Confusion matrix: {len(report.classes)} classes, too many to show here "
                "(--csv FILE or --json holds it).",
                style="dim",
            )
        )
    parts.append(mistakes_text(report))
    return Group(*parts)


# --- runs ------------------------------------------------------------------------------------


def runs_table(summaries: Sequence[RunSummary]) -> Group:
    """The TUI home screen's run list, as a table: the same rows, the same columns; then why
    each `unknown` run is unknown, one line each (the TUI shows it in the state's cell)."""
    table = _table()
    rows = [RunRow.of(summary) for summary in summaries]
    for column in COLUMNS:
        # a run's name is what `hw3tui eval`, `compare` and `resume` take: never cut it
        width = max((len(row.name) for row in rows), default=0) if column == "Run" else None
        table.add_column(column, min_width=width, no_wrap=column == "Run")
    for row in rows:
        state = Text(state_text(replace(row, reason="")), style=state_style(row))
        table.add_row(escape(row.name), state, row.best, row.epochs, row.duration, row.started)
    notes = [Text(f"{row.name}: {row.reason}", style="yellow") for row in rows if row.reason]
    return Group(table, *notes)


# --- compare ---------------------------------------------------------------------------------


def run_letter(index: int) -> str:
    letters = string.ascii_uppercase
    return letters[index] if index < len(letters) else f"R{index + 1}"


def sparkline(values: Sequence[float], low: float | None = None, high: float | None = None) -> str:
    """`▁▃▅▇█`: one block per value, scaled between `low` and `high` (default: their range)."""
    if not values:
        return "–"
    low = min(values) if low is None else low
    high = max(values) if high is None else high
    span = high - low
    top = len(SPARKS) - 1
    return "".join(SPARKS[top if span <= 0 else round((v - low) / span * top)] for v in values)


def comparison_view(
    comparison: Comparison,
    *,
    metric: str = "val_acc",
    plot_width: int | None = None,
    color: bool = False,
) -> Group:
    """Best metrics side by side, the preset fields that differ, and the per-epoch curves."""
    names = comparison.names
    letters = [run_letter(i) for i in range(len(names))]
    label = METRIC_LABELS.get(metric, metric)

    runs = _table()
    runs.add_column("")
    for letter in letters:
        runs.add_column(letter)
    runs.add_row("run", *(escape(printable(n)) for n in names), style="bold")
    winner = comparison.winner("val_acc")
    for row_label, cells in comparison.metric_rows():
        if row_label == "best val acc" and winner is not None:
            cells = [f"{c} ★" if i == winner else c for i, c in enumerate(cells)]
        runs.add_row(row_label, *(escape(printable(c)) for c in cells))
    series = comparison.series(metric)
    values = [v for _, ys in series for v in ys]
    low, high = (min(values), max(values)) if values else (None, None)
    runs.add_row(f"{label} per epoch", *(sparkline(ys, low, high) for _, ys in series))

    parts: list[RenderableType] = [runs]
    for name, note in comparison.notes():
        parts.append(Text(printable(f"{name}: {note}"), style="yellow"))
    parts.append(_changes_view(comparison, letters))
    parts.append(configurations_view(comparison))
    if values:
        curves = [
            (f"{letter} {printable(name)}", xs, ys)
            for letter, name, (xs, ys) in zip(letters, names, series, strict=True)
        ]
        parts += [
            Text(),
            plot(curves, title=f"{label} per epoch", width=plot_width or 80, color=color),
        ]
    else:
        parts.append(Text("no finished epochs to plot", style="dim"))
    return Group(*parts)


def _changes_view(comparison: Comparison, letters: Sequence[str]) -> RenderableType:
    problems = comparison.preset_problems()
    if problems:
        text = _heading("Preset changes")
        text.append("\n")
        for name, problem in problems:
            text.append(printable(f"{name}: preset.yaml {problem}") + "\n", style="red")
        return text
    changes = comparison.changes()
    if not changes:
        return _heading("Preset changes", "none: every field is equal")
    table = _table()
    table.add_column("field")
    for letter in letters:
        table.add_column(letter)
    for change in changes:
        first = change.values[0]
        table.add_row(
            change.field,
            *(
                Text(printable(flow(v)), style="" if i == 0 or v == first else "bold")
                for i, v in enumerate(change.values)
            ),
        )
    return Group(_heading("Preset changes", f"against {letters[0]}"), table)


VERDICT_STYLES = {"better": "bold green", "worse": "bold red", "one seed": "yellow"}


def configurations_view(comparison: Comparison) -> RenderableType:
    """One row per configuration (runs equal but for seed and name): its seeds, mean ± std of
    the best monitored value, and its verdict against configuration 1; then each
    configuration's runs and what it changes."""
    configs = comparison.configurations
    if not configs:
        return _heading("Configurations", "none: no run's preset.yaml could be read")
    monitors = sorted({config.monitor for config in configs})
    note = f"mean best {', '.join(monitors)} over seeds; verdict against 1, 95 % interval"
    table = _table()
    table.add_column("#", justify="right")
    table.add_column("seeds", overflow="fold", min_width=len("seeds"))
    table.add_column("n", justify="right")
    for column in ("mean ± std", "Δ  95 % interval", "verdict", "method"):
        table.add_column(column, no_wrap=True)
    for config in configs:
        word = config.word()
        reference = config.number == 1
        interval = config.interval_text()
        difference = config.delta_text() + ("" if interval == MISSING_CELL else f" {interval}")
        table.add_row(
            str(config.number),
            " ".join(str(m.seed) for m in config.members if m.counted) or MISSING_CELL,
            str(config.spread.n),
            config.mean_text(),
            "" if reference else difference,
            Text(word, style=VERDICT_STYLES.get(word, "dim" if reference else "")),
            "" if reference else config.method(),
        )
    lines = Text()
    for config in configs:
        runs = " ".join(run_letter(m.index) for m in config.members)
        changed = ", ".join(printable(str(change)) for change in config.changes)
        lines.append(f"{config.number}: runs {runs}", style="dim")
        lines.append(f"; {changed}\n" if changed else "\n", style="dim")
    return Group(_heading("Configurations", note), table, lines)


MISSING_CELL = "–"

MARKERS = ("dot", "x", "+", "o", "*", "#")
"""One marker per run, so the curves stay apart without colour."""


def plot(
    series: Sequence[tuple[str, Sequence[int], Sequence[float]]],
    *,
    title: str,
    width: int,
    height: int = PLOT_HEIGHT,
    color: bool = False,
) -> Text:
    """Curves drawn with plotext (y against epoch), one marker (and colour) per series."""
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(max(30, width), height)
    if not color:
        plt.theme("clear")
    epochs: set[int] = set()
    for index, (name, xs, ys) in enumerate(series):
        if xs:
            plt.plot(list(xs), list(ys), label=name, marker=MARKERS[index % len(MARKERS)])
            epochs.update(xs)
    ticks = sorted(epochs)
    if len(ticks) > 12:
        step = -(-len(ticks) // 12)
        ticks = ticks[::step]
    plt.xticks(ticks)
    plt.title(title)
    plt.xlabel("epoch")
    drawn: str = plt.build()
    plt.clear_figure()
    return Text.from_ansi(drawn) if color else Text(plt.uncolorize(drawn))


# --- progress --------------------------------------------------------------------------------


@contextlib.contextmanager
def progress_bar(what: str) -> Iterator[Callable[[int, int], None] | None]:
    """A bar on stderr while images go through the model, only when stderr is a terminal (a log
    or a pipe gets nothing). Yields the callback to tell it (images done, images in all)."""
    if not sys.stderr.isatty():
        yield None
        return
    bar = Progress(
        TextColumn(escape(what)),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task(what, total=None)

    def seen(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield seen
