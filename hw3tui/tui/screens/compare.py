"""Two runs side by side: best metrics, the verdict of B against A, both runs' curves on one
plot, and their preset diff.

The figures come from `hw3tui.results.comparison`, as `hw3tui compare` prints them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.markup import escape
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from hw3tui.console.results_view import VERDICT_STYLES
from hw3tui.preset.yamlio import flow
from hw3tui.results.comparison import Comparison, compare_runs
from hw3tui.runs import RunDir
from hw3tui.tui.paths import fold_path
from hw3tui.tui.widgets.curves import Curves, Series
from hw3tui.untrusted import printable

if TYPE_CHECKING:
    from hw3tui.tui.app import Hw3tuiApp


class CompareScreen(Screen[None]):
    """Run A against run B."""

    DEFAULT_CSS = """
    CompareScreen #title {
        height: 1;
        background: $boost;
        padding: 0 1;
    }
    CompareScreen #metrics {
        height: auto;
        margin: 1 0 0 0;
    }
    CompareScreen Curves {
        height: 14;
    }
    CompareScreen #changes {
        height: auto;
        padding: 0 1;
        margin-bottom: 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "metric", "Loss/acc"),
        Binding("f", "findings", "Findings"),
        Binding("w", "report", "Report"),
        Binding("escape,backspace", "back", "Back"),
    ]

    class Loaded(Message):
        def __init__(self, comparison: Comparison) -> None:
            super().__init__()
            self.comparison = comparison

    def __init__(self, a: RunDir, b: RunDir) -> None:
        super().__init__()
        self.a, self.b = a, b
        self.comparison: Comparison | None = None
        self.metric = "acc"
        self._checkpoints: list[str] = []
        """Each run's checkpoint path as the comparison gives it (shortened to fit on screen)."""

    def compose(self) -> ComposeResult:
        a, b = (escape(printable(run.name)) for run in (self.a, self.b))
        yield Static(f"[b]A[/] {a}   [b]B[/] {b}", id="title")
        with VerticalScroll(id="scroll"):
            yield DataTable(id="metrics", cursor_type="none", zebra_stripes=True)
            yield Curves("accuracy", empty="no finished epochs", id="curves")
            yield Static("reading the runs…", id="changes")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#metrics", DataTable)
        table.add_column("", key="label")
        table.add_columns("A", "B")
        self._load()

    @work(thread=True)
    def _load(self) -> None:
        self.post_message(self.Loaded(compare_runs([self.a, self.b])))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.comparison = comparison = message.comparison
        table = self.query_one("#metrics", DataTable)
        winner = comparison.winner("val_acc")
        for label, cells in comparison.metric_rows():
            if label == "best val acc" and winner is not None:
                cells = [f"{c} ★" if i == winner else c for i, c in enumerate(cells)]
            if label == "checkpoint":
                self._checkpoints = [printable(cell) for cell in cells]
            table.add_row(label, *(escape(printable(cell)) for cell in cells), key=label)
        self._fit_checkpoints()
        # B's configuration against A's: `one seed` for two single runs, never a verdict
        verdicts = []
        for index, cell in enumerate(comparison.verdict_cells()):
            config = comparison.configuration_of(index)
            word = config.word() if config is not None and config.number > 1 else ""
            verdicts.append(Text(cell, style=VERDICT_STYLES.get(word, "")))
        table.add_row("verdict", *verdicts)
        self._plot()
        self.query_one("#changes", Static).update(_changes_text(comparison))

    def on_resize(self, event: events.Resize) -> None:
        self._fit_checkpoints()

    def _fit_checkpoints(self) -> None:
        """Both checkpoint paths whole, or each shortened at its front (`…/x_best.safetensors`,
        as the run screen's best panel does) to half the table's room beside the labels: side
        by side they are the widest cells, and a table wider than the screen cut B's."""
        table = self.query_one("#metrics", DataTable)
        if not self._checkpoints or "checkpoint" not in table.rows:
            return
        # measured here: the table sizes its columns only when it next draws
        labels = max(cell_len(str(label)) for label in table.get_column("label"))
        padding = 2 * table.cell_padding
        room = (table.size.width - labels - padding) // len(self._checkpoints) - padding
        for column, path in zip(list(table.columns)[1:], self._checkpoints, strict=True):
            shown = fold_path(path, max(room, 1), max_lines=1)[0] if room > 0 else path
            table.update_cell("checkpoint", column, escape(shown), update_width=True)

    def _plot(self) -> None:
        comparison = self.comparison
        if comparison is None:
            return
        kind = self.metric
        series = []
        for tag, side in zip("AB", comparison.sides, strict=True):
            for split in ("val", "train"):
                xs, ys = side.history.series(f"{split}_{kind}")
                series.append(Series(f"{tag} {split}", xs, ys))
        curves = self.query_one(Curves)
        curves.heading = "accuracy" if kind == "acc" else "loss"
        curves.plot(series, empty="no finished epochs")

    def action_metric(self) -> None:
        self.metric = "loss" if self.metric == "acc" else "acc"
        self._plot()

    def action_findings(self) -> None:
        from hw3tui.tui.screens.findings import FindingsScreen

        self.app.push_screen(FindingsScreen(self._pair_name, [self.a, self.b]))

    def action_report(self) -> None:
        self.hw3.write_report([self.a.path, self.b.path], self._pair_name)

    @property
    def hw3(self) -> Hw3tuiApp:
        return self.app  # type: ignore[return-value]

    @property
    def _pair_name(self) -> str:
        return f"{self.a.name}-vs-{self.b.name}"

    def action_back(self) -> None:
        self.dismiss()


def _changes_text(comparison: Comparison) -> Text:
    text = Text()
    text.append("Preset changes (A → B)\n", style="bold")
    problems = [
        f"{tag}: preset.yaml {side.preset_problem}"
        for tag, side in zip("AB", comparison.sides, strict=True)
        if side.preset_problem
    ]
    for problem in problems:
        text.append(printable(problem) + "\n", style="red")
    for name, note in comparison.notes():  # an unreadable status.json, skipped event lines
        text.append(printable(f"{name}: {note}") + "\n", style="yellow")
    if problems:
        return text
    changes = comparison.changes()
    if not changes:
        text.append("the same preset (every field equal)", style="dim")
        return text
    width = max(len(c.field) for c in changes)
    for change in changes:
        before, after = change.values
        text.append(f"{change.field:<{width}}  ")
        text.append(printable(flow(before)), style="red")
        text.append(" → ")
        text.append(printable(flow(after)), style="green")
        text.append("\n")
    return text
