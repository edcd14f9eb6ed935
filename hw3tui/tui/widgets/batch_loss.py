"""The live batch-loss line of the epoch being trained."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Label, Sparkline


class BatchLoss(Widget):
    """One line: the latest batch loss, then a sparkline of the epoch's batch losses."""

    DEFAULT_CSS = """
    BatchLoss {
        height: 1;
        layout: horizontal;
    }
    BatchLoss Label {
        width: auto;
        color: $text-muted;
        padding-right: 1;
    }
    BatchLoss Sparkline {
        width: 1fr;
        height: 1;
    }
    """

    def compose(self) -> ComposeResult:
        yield Label("batch loss: –")
        yield Sparkline([])

    def show(self, losses: Sequence[float], epoch: int | None) -> None:
        label = self.query_one(Label)
        where = "" if epoch is None else f" (epoch {epoch})"
        if not losses:
            label.update(f"batch loss{where} –")
            self.query_one(Sparkline).data = []
            return
        label.update(f"batch loss{where} {losses[-1]:.4f}")
        self.query_one(Sparkline).data = list(losses)
