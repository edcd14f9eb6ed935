"""The best epoch so far: its val acc (or the monitored metric) and the checkpoint's path."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from textual.widgets import Static

from hw3tui.runs.history import RunHistory
from hw3tui.tui.paths import shown_path


class BestPanel(Static):
    """`val acc 0.9170 at epoch 3` and `runs/…/best/resnet18_best.safetensors`."""

    DEFAULT_CSS = """
    BestPanel {
        height: auto;
    }
    """

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
        path = checkpoint.get("path")
        if path:
            # the engine names the checkpoint relative to its run directory
            shown = shown_path(run_path / str(path))
            lines.append(f"[dim]{escape(shown)}[/]")
        else:
            lines.append("[dim]no checkpoint yet[/]")
        self.update("\n".join(lines))
