"""What the run screen and the sweep screen share: watching one process they can stop.

Each screen says what it sees of its process (`observed`: from the files, and from the child
this app started); `ProcessWatch` adds `stopping…` between the confirmed cancel and the
process's end, offers `c` only while there is something to stop, and asks before it stops it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.screen import Screen

from hw3tui.runs import RunState
from hw3tui.tui.screens.choice import ChoiceScreen


@dataclass(frozen=True)
class Shown:
    """A state as a screen's header shows it, with why when that matters:
    `unknown (status.json missing)`, `failed to start (exit 2; see the log)`."""

    state: RunState | None
    """None: nothing to show (a folder that holds no sweep): `–`."""
    why: str | None = None

    def __str__(self) -> str:
        if self.state is None:
            return "–"
        return f"{self.state.value} ({self.why})" if self.why else self.state.value

    @property
    def live(self) -> bool:
        return self.state is not None and self.state.live

    def is_(self, *states: RunState) -> bool:
        return self.state in states


class ProcessWatch(Screen[None]):
    """A screen watching one process it can stop (SIGINT: it saves, then ends)."""

    CANCEL_ACTION: ClassVar[str]
    """The action its `c` binding runs (hidden, or greyed while stopping, by `check_action`)."""
    NOT_RUNNING: ClassVar[str]
    """Said when `c` meets a process that is not running."""

    def __init__(self) -> None:
        super().__init__()
        self.stopping = False
        """A cancel was confirmed and sent: the process shows as `stopping…` until it ends."""

    # ---- what each screen says -------------------------------------------------------------

    def observed(self) -> Shown:
        """The process's state as the screen sees it (without `stopping…`)."""
        raise NotImplementedError

    def confirm_stop(self) -> ChoiceScreen:
        """The question asked before stopping it."""
        raise NotImplementedError

    def stop_process(self) -> bool:
        """Ask the process to stop; False when there was none to ask (the app says why)."""
        raise NotImplementedError

    def redraw(self) -> None:
        raise NotImplementedError

    # ---- shared ----------------------------------------------------------------------------

    @property
    def state(self) -> Shown:
        seen = self.observed()
        # after the cancel, whatever live state the files say (running, or starting while a
        # sweep process this app started outlives its workers) is the process saving
        if seen.live and self.stopping:
            return Shown(RunState.STOPPING)
        return seen

    def settle(self) -> None:
        """Called with each new look at the files: once the process has ended, a cancel is
        over (a later resume of the same run or sweep is not `stopping…`). Decided on what
        the files say, never on the state shown, which says `stopping…` until then."""
        if self.stopping and not self.observed().live:
            self.stopping = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # a live process offers cancel (greyed while it stops); an ended one hides it, so
        # that the screen's footer fits 80 columns either way
        if action == self.CANCEL_ACTION:
            state = self.state
            if state.is_(RunState.RUNNING, RunState.STARTING):
                return True
            return None if state.is_(RunState.STOPPING) else False
        return True

    def ask_to_stop(self) -> None:
        """`c`: confirm, then SIGINT the process; `stopping…` until it has saved and ended."""
        if not self.state.is_(RunState.RUNNING, RunState.STARTING):
            self.notify(self.NOT_RUNNING, severity="warning")
            return

        def answered(answer: str | None) -> None:
            if answer == "yes" and self.stop_process():
                self.stopping = True
                self.redraw()

        self.app.push_screen(self.confirm_stop(), answered)
