"""The run folder: the contract between a running engine and whoever watches it (torch-free).

Everything that reads or writes a run folder goes through this package: the engine writes
events (`events`), status (`status`) and the result header (`header`) through it; the TUI, the
console and the results commands read through it (`folder`, `tails`, `summary`, `history`);
`states` says what each state of a run means (one type, `RunState`); every command that takes
a RUN or CHECKPOINT finds it with `resolve`. `launch` starts a detached engine on a run folder,
`RunDir.interrupt` stops one.
"""

from hw3tui.runs.folder import DEFAULT_RUNS_DIR, RunDir, RunLocked
from hw3tui.runs.launch import hw3tui_command, launch_detached
from hw3tui.runs.resolve import (
    NoSuchRun,
    Target,
    find_run,
    resolve,
    resolve_checkpoint,
    resolve_run,
)
from hw3tui.runs.states import RunState
from hw3tui.runs.status import Status
from hw3tui.runs.summary import RunSummary, list_runs, summarize
from hw3tui.runs.tails import EventTail, LineTail

__all__ = [
    "DEFAULT_RUNS_DIR",
    "EventTail",
    "LineTail",
    "NoSuchRun",
    "RunDir",
    "RunLocked",
    "RunState",
    "RunSummary",
    "Status",
    "Target",
    "find_run",
    "hw3tui_command",
    "launch_detached",
    "list_runs",
    "resolve",
    "resolve_checkpoint",
    "resolve_run",
    "summarize",
]
