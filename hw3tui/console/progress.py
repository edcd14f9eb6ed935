"""The headless face of a run: events in, terminal output out.

On a terminal: a live progress bar for the current epoch (steps, loss, accuracy, lr / batch size /
weight decay, images/s, ETA) under one line per finished epoch. Anywhere else (nohup, CI, a pipe,
the TUI's log.txt): one plain line per epoch and no carriage returns, so logs stay readable.
No torch here.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from hw3tui.humanize import format_duration
from hw3tui.runs.events import Event
from hw3tui.runs.history import RunHistory
from hw3tui.untrusted import printable


def _num(value: Any, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _g(value: Any) -> str:
    return "n/a" if value is None else f"{value:g}"


class Printer:
    """An `EventSink` that prints a run's progress; call `close()` when the run ends.

    Each event is folded into a `RunHistory` first and the lines are drawn from that fold (the
    epochs, the hyperparameters of the epoch in progress, the best checkpoint, the ETA), so the
    printer, the TUI and `hw3tui runs` tell the same story; an event the fold skips prints nothing.
    """

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.live_display = self.stream.isatty() if live is None else live
        self.history = RunHistory()
        self.run_dir = ""
        self.pending: str | None = None
        self.started = time.monotonic()
        self._live: Live | None = None
        self._bar: Progress | None = None
        self._task: Any = None

    # --- output ---------------------------------------------------------------------------

    def line(self, text: str) -> None:
        text = printable(text)  # it quotes paths, names and failure reasons
        if self._live is not None:
            self._live.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def note(self, text: str) -> None:
        """A setup message (before the run's first event)."""
        self.line(f"hw3tui: {text}")

    def close(self) -> None:
        self._flush()
        if self._live is not None:
            self._live.stop()
            self._live = None

    # --- events ---------------------------------------------------------------------------

    def __call__(self, record: Event) -> None:
        kind = record.get("type")
        if kind != "checkpoint" and kind != "progress":
            self._flush()
        seen = self.history.events_seen
        self.history.apply(record)
        if self.history.events_seen == seen:
            return  # unknown or malformed: the fold skipped it
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(record)

    def _flush(self) -> None:
        if self.pending is not None:
            self.line(self.pending)
            self.pending = None

    def _on_run_start(self, r: Event) -> None:
        """The run's description comes from its own event (the fold keeps none of it)."""
        self.run_dir = str(r.get("run_dir", r.get("run", "")))
        self.started = time.monotonic()
        runtime = r.get("runtime") or {}
        images = r.get("images") or {}
        model = f"{r.get('backbone', '?')} ({_pretrained(r.get('pretrained'))})"
        where = " · ".join(
            str(part)
            for part in (
                runtime.get("device", r.get("device")),
                runtime.get("precision"),
                "channels_last" if runtime.get("channels_last") else None,
            )
            if part
        )
        cache = f"cached in memory, {r.get('cache_mb')} MB" if r.get("cache_mb") else "streamed"
        self.line(f"run {self.run_dir}")
        self.line(
            f"  {r.get('preset')}: {model}, {r.get('num_classes')} classes, "
            f"{images.get('train', '?')} train / {images.get('val', '?')} val images ({cache}), "
            f"{where}"
        )
        auto = runtime.get("auto") or {}
        if auto.get("how") in ("measured", "cached", "table"):
            self.line(f"  runtime auto: {_auto_text(auto)}")
        if r.get("resumed_from_epoch") is not None:
            step = r.get("resumed_from_step") or 0
            part = f", step {step}" if step else ""
            self.line(f"  resuming at epoch {r['resumed_from_epoch']}{part}")

    def _on_epoch_start(self, r: Event) -> None:
        if self.live_display:
            self._start_bar()

    def _on_progress(self, r: Event) -> None:
        progress = self.history.progress
        if self._bar is None or self._task is None or progress is None:
            return
        steps, step = int(progress.get("steps", 0)), int(progress.get("step", 0))
        rate = self.history.images_per_s or 0
        self._bar.update(
            self._task,
            total=steps,
            completed=step,
            stats=f"loss {_num(progress.get('loss'))} acc {_num(progress.get('acc'), 3)}",
            speed=f"{rate:.0f} img/s",
            eta=f"ETA {self._eta()}",
        )

    def _on_epoch_end(self, r: Event) -> None:
        self._stop_bar()
        result = self.history.epochs[-1]
        self.pending = (
            f"{self._epoch_label(result.epoch)}  "
            f"train loss {_num(result.train_loss)} acc {_num(result.train_acc, 3)}  "
            f"val loss {_num(result.val_loss)} acc {_num(result.val_acc, 3)}  "
            f"{self._hyper()}  {result.seconds or 0:.1f} s {result.images_per_s or 0:.0f} img/s"
        )

    def _on_checkpoint(self, r: Event) -> None:
        if self.pending is not None:
            self.pending += "  * best"
            return
        best = self.history.best or {}
        self.line(f"  best {best.get('metric')} {_num(best.get('value'), 4)}: {best.get('path')}")

    def _on_run_end(self, r: Event) -> None:
        self._stop_bar()
        best = self.history.best or {}
        elapsed = format_duration(time.monotonic() - self.started, spaced=True)
        state = self.history.state
        reason = (self.history.end or {}).get("reason") or ""
        summary = (
            f"best {best.get('metric')} {_num(best.get('value'))} at epoch {best.get('epoch')}"
            if best
            else "no checkpoint"
        )
        self.line(f"{state}: {reason} · {summary} · {elapsed}")
        if best:
            self.line(f"  checkpoint: {self.run_dir}/{best.get('path')}")
        if state != "done":
            self.line(f"  continue with: hw3tui resume {self.run_dir}")

    # --- what the fold knows, as the printer words it ---------------------------------------

    def _epoch_label(self, epoch: int) -> str:
        planned = self.history.epochs_planned
        return f"epoch {epoch} [{epoch + 1}/{'?' if planned is None else planned}]"

    def _hyper(self) -> str:
        """The epoch in progress's lr, batch size and weight decay, as its `epoch_start` gave
        them (a batch size prints as the engine wrote it: `16`, not `16.0`)."""
        current = self.history.current or {}
        return (
            f"lr {_g(current.get('lr'))} bs {current.get('batch_size')} "
            f"wd {_g(current.get('weight_decay'))}"
        )

    def _eta(self) -> str:
        left = self.history.eta_seconds()
        return "…" if left is None else format_duration(left, spaced=True)

    # --- the live bar (terminals only) ----------------------------------------------------

    def _start_bar(self) -> None:
        epoch = self.history.current_epoch
        if epoch is None:
            return
        if self._live is None:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(bar_width=24),
                MofNCompleteColumn(),
                TextColumn("{task.fields[stats]}"),
                TextColumn("{task.fields[speed]}"),
                TextColumn("{task.fields[hyper]}"),
                TextColumn("{task.fields[eta]}"),
                console=Console(file=self.stream),
                transient=True,
            )
            self._live = Live(self._bar, console=self._bar.console, refresh_per_second=4)
            self._live.start()
        assert self._bar is not None
        finished = self.history.epochs
        self._task = self._bar.add_task(
            self._epoch_label(epoch),
            total=(self.history.current or {}).get("steps"),
            stats=f"val acc {_num(finished[-1].val_acc, 3)}" if finished else "",
            speed="",
            hyper=self._hyper(),
            eta=f"ETA {self._eta()}",
        )

    def _stop_bar(self) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.remove_task(self._task)
            self._task = None


def _pretrained(value: Any) -> str:
    if value in (True, "true"):
        return "ImageNet weights"
    if value in (False, "false", None):
        return "from scratch"
    return f"weights {value}"


def _auto_text(auto: dict[str, Any]) -> str:
    """How `auto` chose precision and layout, with the measured rates (images/s)."""
    text = str(auto.get("how"))
    if auto.get("why"):
        text += f" ({auto['why']})"
    rates = auto.get("rates") or {}
    if rates:
        shown = ", ".join(
            f"{label} {'/'.join(f'{float(rate):.0f}' for rate in by.values())}"
            for label, by in rates.items()
            if isinstance(by, dict)
        )
        text += f"; img/s: {shown}"
    if auto.get("probe_seconds"):
        text += f"; measured in {auto['probe_seconds']} s"
    return text
