"""Epoch and batch progress of a run, with its ETA and speed."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Label, ProgressBar

from hw3tui.humanize import format_duration
from hw3tui.runs.history import RunHistory


class RunProgress(Widget):
    """`epoch 2 (3 of 8)` and `batch 14/30` bars, then `ETA 1m20s · 412 images/s`."""

    DEFAULT_CSS = """
    RunProgress {
        height: auto;
    }
    RunProgress Label {
        width: 1fr;
    }
    RunProgress ProgressBar {
        width: 1fr;
    }
    RunProgress ProgressBar Bar {
        width: 1fr;
    }
    RunProgress .title {
        text-style: bold;
        color: $accent;
    }
    """

    def compose(self) -> ComposeResult:
        yield Label("Progress", classes="title")
        yield Label("epoch –", id="epoch-label")
        yield ProgressBar(total=None, show_eta=False, id="epochs")
        yield Label("batch –", id="batch-label")
        yield ProgressBar(total=None, show_eta=False, id="batches")
        yield Label("ETA –", id="eta")

    def show(self, history: RunHistory, planned: int | None, *, running: bool = True) -> None:
        epoch = history.current_epoch
        done = history.epochs_done
        epochs_bar = self.query_one("#epochs", ProgressBar)
        if planned:
            epochs_bar.update(total=planned, progress=min(done, planned))
        if epoch is None:
            text = "epoch –" if not planned else f"epoch – (0 of {planned} done)"
        else:
            of = f" of {planned}" if planned else ""
            text = f"epoch {epoch} ({epoch + 1}{of})"
        self.query_one("#epoch-label", Label).update(text)

        progress = history.progress
        batches_bar = self.query_one("#batches", ProgressBar)
        if progress is not None and isinstance(progress.get("steps"), int):
            step, steps = int(progress.get("step", 0)), int(progress["steps"])
            if epoch is not None and epoch in history.results:
                step = steps  # progress is throttled: the epoch's end says it ran every step
            batches_bar.update(total=steps, progress=min(step, steps))
            self.query_one("#batch-label", Label).update(f"batch {step}/{steps}")
        elif history.end is not None or (epoch is not None and epoch in history.results):
            batches_bar.update(total=1, progress=1)
            self.query_one("#batch-label", Label).update("batch –")
        speed = history.images_per_s
        eta = history.eta_seconds()
        if history.end is not None:
            ended = history.state
        elif not running:
            ended = "stopped"
        else:
            ended = f"ETA {format_duration(eta)}"
        parts = [ended, f"{speed:,.0f} images/s" if speed else "– images/s"]
        self.query_one("#eta", Label).update(" · ".join(parts))
