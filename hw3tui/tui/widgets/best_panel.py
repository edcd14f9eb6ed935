"""The best epoch so far: its val acc (or the monitored metric) and the checkpoint's path."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from textual import events
from textual.widgets import Static

from hw3tui.runs.history import RunHistory
from hw3tui.tui.paths import fold_path, shown_path

PATH_LINES = 2
"""Lines the checkpoint's path may take: what the side column has room for at 80×24."""


class BestPanel(Static):
    """`val acc 0.9170 at epoch 3` and the checkpoint's path, folded at `/` to the panel's width
    (`runs/<run>/` over `best/resnet18_best.safetensors`), never cut inside a name."""

    DEFAULT_CSS = """
    BestPanel {
        height: auto;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._head: list[str] = []
        self._path: str | None = None
        self._drawn = ""

    def show(self, history: RunHistory, run_path: Path) -> None:
        lines = ["[b $accent]Best[/]"]
        best_acc = history.best_of("val_acc")
        lines.append(
            "val acc  –"
            if best_acc is None
            else f"val acc  {best_acc[0]:.4f} at epoch {best_acc[1]}"
        )
        checkpoint = history.best or {}
        metric = str(checkpoint.get("metric") or "")
        if metric and metric != "val_acc" and isinstance(checkpoint.get("value"), int | float):
            lines.append(
                f"{metric.replace('_', ' ')} {float(checkpoint['value']):.4f} "
                f"at epoch {checkpoint.get('epoch')}"
            )
        self._head = lines
        path = checkpoint.get("path")
        # the engine names the checkpoint relative to its run directory
        self._path = shown_path(run_path / str(path)) if path else None
        self._draw()

    def on_resize(self, event: events.Resize) -> None:
        self._draw()  # the path's folds follow the panel's width

    def _draw(self) -> None:
        if self._path is None:
            tail = ["[dim]no checkpoint yet[/]"]
        else:
            folded = fold_path(self._path, self.content_size.width, PATH_LINES)
            tail = [f"[dim]{escape(line)}[/]" for line in folded]
        drawn = "\n".join([*self._head, *tail])
        if drawn != self._drawn:  # an unchanged panel is not laid out again
            self._drawn = drawn
            self.update(drawn)
