"""The editor's lr finder: `hw3tui lr-find --json` on the preset as edited, in a child process.

The app imports no torch and no engine: like the augmentation preview, the work runs in a child
(`python -m hw3tui lr-find PRESET --json`, the very command, so there is one lr range test). The
child gets the editor's text (saved or not) in a temporary file and runs in the app's working
directory, where relative data paths resolve as for `hw3tui lr-find`. Escape, or leaving the
screen any other way, kills it. Its answer is a curve and a suggestion; `a` dismisses with the
suggestion rounded as the command prints it (`--set schedule.lr=0.00017`), which the editor
writes into the document like any edit.
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from hw3tui.tui.screens.dialog import Dialog
from hw3tui.tui.widgets.lr_plot import LrPlot
from hw3tui.untrusted import printable

STEPS = 100
"""The ramp's optimizer steps (`hw3tui lr-find --steps`)."""
POLL_S = 0.1


@dataclass(frozen=True)
class LrResult:
    """What the child found (from its JSON; every number finite or left out)."""

    title: str
    lrs: list[float]
    smoothed: list[float]
    suggestion: float | None
    """The suggestion rounded as `hw3tui lr-find` prints it (2 significant digits)."""
    diverged: bool


def read_result(text: str) -> LrResult | None:
    """The child's JSON as a result; None when it is not one (a child that died half way)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("lrs"), list):
        return None
    lrs, smoothed = data["lrs"], data.get("smoothed")
    if not isinstance(smoothed, list) or len(smoothed) != len(lrs):
        return None
    pairs = [(lr, loss) for lr, loss in zip(lrs, smoothed, strict=True) if _finite(lr, loss)]
    found: Any = data.get("suggestion")
    suggestion = float(found) if _finite(found) and found > 0 else None
    title = f"{printable(data.get('preset', '?'))} ({printable(data.get('backbone', '?'))})"
    return LrResult(
        title=title,
        lrs=[float(lr) for lr, _ in pairs],
        smoothed=[float(loss) for _, loss in pairs],
        suggestion=None if suggestion is None else float(f"{suggestion:.2g}"),
        diverged=data.get("diverged") is True,
    )


def _finite(*values: Any) -> bool:
    return all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values
    )


class LrFindScreen(Dialog[float | None]):
    """Run the lr range test on `text`; dismiss with the suggestion to apply, or None."""

    DEFAULT_CSS = """
    LrFindScreen > Vertical {
        width: 100;
        max-width: 100%;
        max-height: 100%;
        padding: 0 1;
    }
    LrFindScreen #lr-title {
        text-style: bold;
    }
    LrFindScreen #lr-status {
        height: auto;
    }
    LrFindScreen #lr-status.-failed {
        color: $error;
    }
    LrFindScreen #lr-apply {
        height: auto;
        color: $text-muted;
    }
    LrFindScreen Horizontal {
        height: auto;
    }
    LrFindScreen Button {
        margin-right: 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Cancel / close"),
        Binding("a", "apply", "Apply"),
    ]

    def __init__(self, text: str, *, source: str, current: str, applying: str) -> None:
        """`text`: the preset as edited; `current`: its schedule.lr now, as written (shown beside
        the suggestion); `applying`: what applying does to it, in words."""
        super().__init__()
        self.text = text
        self.source = source
        self.current = current
        self.applying = applying
        self.child: subprocess.Popen[bytes] | None = None
        self.result: LrResult | None = None
        self.failure: str | None = None
        self._folder: Path | None = None
        """The child's files; made on the first run, so a dialog never shown leaves none behind."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"lr range test: {printable(self.source)}"), id="lr-title")
            yield Static("", id="lr-status")
            yield LrPlot(id="lr-plot")
            yield Static("", id="lr-apply")
            with Horizontal():
                # Text: "[a]" would be read as markup
                yield Button(
                    Text("Apply [a]"), id="lr-apply-button", variant="primary", disabled=True
                )
                yield Button(Text("Cancel [esc]"), id="lr-close-button")

    def on_mount(self) -> None:
        self.query_one("#lr-close-button", Button).focus()
        self._run()

    def on_unmount(self) -> None:
        # however the screen goes (escape, pop, the app quitting), the child goes with it
        self.workers.cancel_group(self, "lr-find")
        self._kill()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    # ---- the child -------------------------------------------------------------------------

    def command(self, preset_file: Path) -> list[str]:
        """The child's command line: the lr-find command itself, as JSON."""
        return [
            sys.executable,
            "-m",
            "hw3tui",
            "lr-find",
            str(preset_file),
            "--steps",
            str(STEPS),
            "--json",
        ]

    @work(exclusive=True, group="lr-find")
    async def _run(self) -> None:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="hw3tui-lr-find-"))
        folder = self._folder
        preset_file = folder / "preset.yaml"
        out, errors = folder / "curve.json", folder / "stderr.txt"
        preset_file.write_text(self.text, encoding="utf-8")
        started = time.monotonic()
        with out.open("wb") as stdout, errors.open("wb") as stderr:
            # Popen, not multiprocessing (which fails inside a running Textual app); output to
            # files: a child writing to the terminal would draw over the app
            self.child = subprocess.Popen(
                self.command(preset_file),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )
        child = self.child
        try:
            while child.poll() is None:
                seconds = int(time.monotonic() - started)
                said = _last_line(errors)
                self._status(
                    f"Running {STEPS} steps on a throwaway copy… {seconds} s"
                    f"{'  ·  ' + said if said else ''}"
                )
                await asyncio.sleep(POLL_S)
        finally:
            self._kill()
        self.child = None
        if not self.query("#lr-status"):
            return  # the screen is being taken down
        result = read_result(out.read_text(encoding="utf-8", errors="replace"))
        if child.returncode == 0 and result is not None:
            self._show(result)
        else:
            reason = _last_line(errors) or f"the lr finder failed (exit {child.returncode})"
            if child.returncode not in (0, 2) and not reason.startswith("error:"):
                reason = f"the lr finder failed (exit {child.returncode}): {reason}"
            self.fail(reason.removeprefix("error: "))

    def _kill(self) -> None:
        child = self.child
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()

    # ---- showing ---------------------------------------------------------------------------

    def _status(self, text: str) -> None:
        # one line: text from the child is data, escaped and never taken as markup
        for status in self.query("#lr-status").results(Static):  # none while being taken down
            status.update(Text(printable(text), no_wrap=True, overflow="ellipsis"))

    def fail(self, reason: str) -> None:
        """Say why there is no curve, in one line."""
        self.failure = printable(reason)
        self._status(f"No lr found: {self.failure}")
        self.query_one("#lr-status").add_class("-failed")
        self.query_one(LrPlot).clear("no curve")
        self.query_one("#lr-close-button", Button).label = Text("Close [esc]")

    def _show(self, result: LrResult) -> None:
        self.result = result
        ended = "diverged" if result.diverged else "reached the end of the ramp"
        self.query_one("#lr-title", Static).update(Text(f"lr range test: {result.title}"))
        span = f", lr {result.lrs[0]:.2g} to {result.lrs[-1]:.2g}" if result.lrs else ""
        summary = f"{len(result.lrs)} steps{span} ({ended})"
        self.query_one(LrPlot).plot(result.lrs, result.smoothed, result.suggestion)
        self.query_one("#lr-close-button", Button).label = Text("Close [esc]")
        apply = self.query_one("#lr-apply", Static)
        if result.suggestion is None:
            self._status(f"{summary}; no suggestion: the smoothed loss never fell")
            apply.update("")
            return
        self._status(f"{summary}; suggested lr {result.suggestion:.2g}")
        apply.update(
            Text(
                f"a applies it: {self.applying} (now {printable(self.current)}); "
                "unsaved until ctrl+s. A start, not an answer: see the curve."
            )
        )
        button = self.query_one("#lr-apply-button", Button)
        button.disabled = False
        button.focus()

    # ---- keys ------------------------------------------------------------------------------

    def action_apply(self) -> None:
        if self.result is not None and self.result.suggestion is not None:
            self.dismiss(self.result.suggestion)

    def action_close(self) -> None:
        self._kill()
        self.dismiss(None)

    @on(Button.Pressed, "#lr-apply-button")
    def _apply_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_apply()

    @on(Button.Pressed, "#lr-close-button")
    def _close_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_close()


def _last_line(path: Path) -> str:
    """The last non-empty line the child wrote to `path` (its notes, or its one-line error)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""
