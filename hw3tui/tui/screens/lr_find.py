"""The editor's lr finder: `hw3tui lr-find --json` on the preset as edited, in a child process.

The app imports no torch and no engine: like the augmentation preview, the work runs in a child
(`python -m hw3tui lr-find PRESET --start S --end E --steps N --json`, the very command, so there
is one lr range test). The child gets the editor's text (saved or not) in a temporary file and
runs in the app's working directory, where relative data paths resolve as for `hw3tui lr-find`.
The first run starts at once with the command's default ramp; the dialog's start, end and steps
inputs, checked as the command checks them, run it again (`r`, or enter in an input), the running
child killed first. Escape, or leaving the screen any other way, kills it. Its answer is a curve
and a suggestion; `a` dismisses with the suggestion rounded as the command prints it
(`--set schedule.lr=0.00017`), which the editor writes into the document like any edit.
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
from textual.widgets import Button, Input, Label, Static

from hw3tui.results.lr_ramp import (
    END,
    START,
    STEPS,
    STEPS_WANTED,
    Names,
    Refused,
    ramp_problem,
)
from hw3tui.tui.screens.dialog import Dialog
from hw3tui.tui.widgets.lr_plot import LrPlot
from hw3tui.untrusted import printable

POLL_S = 0.1
FIELDS: Names = ("start lr", "end lr", "steps")
"""The inputs as a refusal names them (their labels)."""
FIELD_KEYS = ("start", "end", "steps")
"""The inputs' ids, after `lr-`."""


@dataclass(frozen=True)
class Ramp:
    """The lrs a run ramps through: `hw3tui lr-find --start --end --steps`."""

    start: float
    end: float
    steps: int

    def said(self) -> str:
        """As the command and the status line say a ramp: "100 steps, lr 1e-07 to 10"."""
        return f"{self.steps} steps, lr {self.start:.2g} to {self.end:.2g}"


def read_ramp(start: str, end: str, steps: str) -> Ramp | Refused:
    """The inputs' text as a ramp, or why not (the typed text escaped: it is shown)."""
    lrs: list[float] = []
    for field, text in enumerate((start, end)):
        try:
            lrs.append(float(text))
        except ValueError:
            return Refused(field, f"{FIELDS[field]}: '{printable(text.strip())}' is not a number")
    try:
        count = int(steps)
    except ValueError:
        return Refused(2, f"{FIELDS[2]}: '{printable(steps.strip())}' {STEPS_WANTED}")
    problem = ramp_problem(lrs[0], lrs[1], count, FIELDS)
    return Ramp(lrs[0], lrs[1], count) if problem is None else problem


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
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
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
    LrFindScreen #lr-ramp Label {
        margin-right: 1;
    }
    LrFindScreen #lr-ramp Input {
        width: 12;
        margin-right: 2;
        background: $boost;
    }
    LrFindScreen #lr-ramp Input.-refused {
        background-tint: $error 30%;
    }
    LrFindScreen #lr-ramp #lr-steps {
        width: 8;
    }
    LrFindScreen Button {
        margin-right: 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Cancel / close"),
        Binding("a", "apply", "Apply"),
        Binding("r", "rerun", "Run again"),
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
        self.ramp = Ramp(START, END, STEPS)
        """The ramp run last (or running)."""
        self.refused: str | None = None
        """Why the inputs' ramp was refused, shown until an input changes or a run starts."""
        self.result: LrResult | None = None
        self.failure: str | None = None
        self._folder: Path | None = None
        """The child's files; made on the first run, so a dialog never shown leaves none behind."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"lr range test: {printable(self.source)}"), id="lr-title")
            yield Static("", id="lr-status")
            with Horizontal(id="lr-ramp"):
                for name, key, value in zip(
                    FIELDS, FIELD_KEYS, (f"{START:g}", f"{END:g}", str(STEPS)), strict=True
                ):
                    yield Label(name)
                    yield Input(value, id=f"lr-{key}", compact=True)
            yield LrPlot(id="lr-plot")
            yield Static("", id="lr-apply")
            with Horizontal():
                # Text: "[a]" would be read as markup
                yield Button(
                    Text("Apply [a]"), id="lr-apply-button", variant="primary", disabled=True
                )
                yield Button(Text("Run again [r]"), id="lr-rerun-button")
                yield Button(Text("Cancel [esc]"), id="lr-close-button")

    def on_mount(self) -> None:
        self.query_one("#lr-close-button", Button).focus()
        self._start(self.ramp)

    def on_unmount(self) -> None:
        # however the screen goes (escape, pop, the app quitting), the child goes with it
        self.workers.cancel_group(self, "lr-find")
        _kill(self.child)
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
            "--start",
            repr(self.ramp.start),
            "--end",
            repr(self.ramp.end),
            "--steps",
            str(self.ramp.steps),
            "--json",
        ]

    def _start(self, ramp: Ramp) -> None:
        """Run the test on `ramp`, the running child (if any) killed first."""
        # killed here, not by the old worker's cancellation (which comes later): its files are
        # the new child's, and the old child must not write into them
        self.workers.cancel_group(self, "lr-find")
        _kill(self.child)
        self.child, self.result, self.failure, self.ramp = None, None, None, ramp
        self._unrefuse()
        self.query_one(LrPlot).clear("running…")
        self.query_one("#lr-apply", Static).update("")
        self.query_one("#lr-apply-button", Button).disabled = True
        self.query_one("#lr-close-button", Button).label = Text("Cancel [esc]")
        self._run()

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
                if self.refused is None:  # the refusal stays until it is dealt with
                    self._status(
                        f"Running {self.ramp.said()}, on a throwaway copy… {seconds} s"
                        f"{'  ·  ' + said if said else ''}"
                    )
                await asyncio.sleep(POLL_S)
        finally:
            _kill(child)  # this run's own: self.child may be a newer run's by now
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

    # ---- showing ---------------------------------------------------------------------------

    def _unrefuse(self) -> None:
        self.refused = None
        self.query_one("#lr-status").remove_class("-failed")
        self.query("#lr-ramp Input").remove_class("-refused")

    def _status(self, text: str) -> None:
        # one line: text from the child is data, escaped and never taken as markup
        for status in self.query("#lr-status").results(Static):  # none while being taken down
            status.update(Text(printable(text), no_wrap=True, overflow="ellipsis"))

    def fail(self, reason: str) -> None:
        """Say why there is no curve, in one line."""
        self.failure = printable(reason)
        self._unrefuse()
        self._status(f"No lr found: {self.failure}")
        self.query_one("#lr-status").add_class("-failed")
        self.query_one(LrPlot).clear("no curve")
        self.query_one("#lr-close-button", Button).label = Text("Close [esc]")

    def _show(self, result: LrResult) -> None:
        self.result = result
        self._unrefuse()  # the status line says the run's end now
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

    def action_rerun(self) -> None:
        """Run again on the inputs' ramp; a bad value is refused in the status line instead."""
        boxes = [self.query_one(f"#lr-{key}", Input) for key in FIELD_KEYS]
        ramp = read_ramp(*(box.value for box in boxes))
        if isinstance(ramp, Refused):
            # no child: the one running (if any) goes on, the curve shown stays
            self.refused = ramp.line
            self._status(ramp.line)
            self.query_one("#lr-status").add_class("-failed")
            boxes[ramp.field].add_class("-refused")
            boxes[ramp.field].focus()
            return
        self._start(ramp)

    def action_close(self) -> None:
        _kill(self.child)
        self.dismiss(None)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.input.remove_class("-refused")
        if self.refused is not None and self.child is not None:
            self._unrefuse()  # the running child's progress again

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_rerun()

    @on(Button.Pressed, "#lr-rerun-button")
    def _rerun_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_rerun()

    @on(Button.Pressed, "#lr-apply-button")
    def _apply_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_apply()

    @on(Button.Pressed, "#lr-close-button")
    def _close_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_close()


def _kill(child: subprocess.Popen[bytes] | None) -> None:
    if child is not None and child.poll() is None:
        child.kill()
        child.wait()


def _last_line(path: Path) -> str:
    """The last non-empty line the child wrote to `path` (its notes, or its one-line error)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""
