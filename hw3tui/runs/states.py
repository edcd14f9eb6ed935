"""Where a run (or a sweep, or a trial) stands: one type for every state hw3tui writes or shows.

The engine writes four of them to status.json (`running`, `done`, `failed`, `cancelled`); a
reader decides three more from the files (`killed`: status says running but no engine holds
the run; `starting`: an engine holds it, no status yet; `unknown`: status.json missing or
unreadable, `hw3tui.runs.summary.decide_state`); the TUI adds two while it watches
(`stopping…` after a cancel, `failed to start` when its child died before writing status);
sweeps add theirs (`waiting`, `stopped`, `pruned`). Each value is the very word the files and
the screens always held, so status.json, `runs --json` and leaderboard.csv read the same.

What a state means (live, ended, resumable, its mark and its tone) is said once, here; each
face picks its own colour for a tone (`hw3tui.console.run_rows.state_style`, the TUI's
`RunHeader`).
"""

from __future__ import annotations

from enum import Enum

from hw3tui.untrusted import printable


class _Word(str, Enum):
    """A str-valued enum that reads as its word everywhere (`str`, f-strings, JSON, CSV), as
    3.11's StrEnum does (3.10 is supported)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Tone(_Word):
    """What a state says to the one reading it, named as Textual's theme colours are."""

    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"
    PLAIN = ""


class RunState(_Word):
    """A run's state (and a sweep's, and a trial's): a `str`, so it is written as its word."""

    # written by the engine to status.json
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # decided by a reader from the run's files
    KILLED = "killed"
    """status.json says running, but no engine holds the run: the process died (`resume`)."""
    STARTING = "starting"
    """An engine holds the run (or the TUI just launched it) and has not written status yet."""
    UNKNOWN = "unknown"
    """status.json is missing, unreadable or holds no state hw3tui writes."""
    # the TUI's, while it watches a process it can stop
    STOPPING = "stopping…"
    """Cancel was asked (SIGINT sent); the process is still saving."""
    FAILED_TO_START = "failed to start"
    """The TUI's child ended before its engine wrote status.json (its log says why)."""
    # sweeps and their trials
    WAITING = "waiting"
    """A trial queued in the study, not claimed by a worker yet."""
    STOPPED = "stopped"
    """A sweep (or trial) whose workers were stopped: `hw3tui sweep resume` continues it."""
    PRUNED = "pruned"
    """A trial the pruner ended early."""

    @property
    def written(self) -> bool:
        """status.json holds it (the engine writes it): a reader takes any other as `unknown`."""
        return self in _WRITTEN

    @property
    def live(self) -> bool:
        """A process works on it now (or is about to): the TUI marks it `●` and offers cancel."""
        return self in _LIVE

    @property
    def ended(self) -> bool:
        """Its process has ended (finished, failed, stopped or died) and will not go on alone."""
        return self in _ENDED

    @property
    def resumable(self) -> bool:
        """`hw3tui resume` (or `hw3tui sweep resume`, for `stopped`) continues it."""
        return self in _RESUMABLE

    @property
    def glyph(self) -> str:
        return _GLYPHS[self]

    @property
    def mark(self) -> str:
        """How a table shows it: `✓ done`, `● running`, `✂ pruned`."""
        return f"{self.glyph} {self.value}"

    @property
    def tone(self) -> Tone:
        return _TONES[self]


_WRITTEN = frozenset({RunState.RUNNING, RunState.DONE, RunState.FAILED, RunState.CANCELLED})
_LIVE = frozenset({RunState.RUNNING, RunState.STARTING, RunState.STOPPING})
_ENDED = frozenset(
    {
        RunState.DONE,
        RunState.FAILED,
        RunState.CANCELLED,
        RunState.KILLED,
        RunState.FAILED_TO_START,
        RunState.STOPPED,
        RunState.PRUNED,
    }
)
_RESUMABLE = frozenset({RunState.FAILED, RunState.CANCELLED, RunState.KILLED, RunState.STOPPED})
_GLYPHS = {
    RunState.RUNNING: "●",
    RunState.STARTING: "●",
    RunState.STOPPING: "●",
    RunState.DONE: "✓",
    RunState.FAILED: "✗",
    RunState.KILLED: "✗",
    RunState.FAILED_TO_START: "✗",
    RunState.CANCELLED: "■",
    RunState.STOPPED: "■",
    RunState.UNKNOWN: "?",
    RunState.WAITING: "·",
    RunState.PRUNED: "✂",
}
_TONES = {
    RunState.RUNNING: Tone.SUCCESS,
    RunState.DONE: Tone.SUCCESS,
    RunState.STARTING: Tone.WARNING,
    RunState.STOPPING: Tone.WARNING,
    RunState.CANCELLED: Tone.WARNING,
    RunState.UNKNOWN: Tone.WARNING,
    RunState.FAILED: Tone.ERROR,
    RunState.KILLED: Tone.ERROR,
    RunState.FAILED_TO_START: Tone.ERROR,
    # a sweep's own words read plain, as they always have
    RunState.WAITING: Tone.PLAIN,
    RunState.STOPPED: Tone.PLAIN,
    RunState.PRUNED: Tone.PLAIN,
}


def parse_state(word: str) -> RunState | None:
    """The state a word names (from a file: anyone's), None for any other word."""
    try:
        return RunState(word)
    except ValueError:
        return None


def marked(word: str) -> str:
    """How a table shows a state's word from a file: its mark (`✓ done`), or the word escaped
    (`printable`) when it names no state."""
    state = parse_state(word)
    return state.mark if state is not None else printable(word)
