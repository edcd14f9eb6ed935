"""The run folder: the contract between a running engine and whoever watches it (torch-free).

Everything that reads or writes a run folder goes through this package: the engine writes
events (`events`), status (`status`) and the result header (`header`) through it; the TUI, the
console and the results commands read through it (`folder`, `history`), and every command that
takes a RUN or CHECKPOINT finds it with `resolve`.
"""

from hw3tui.runs.folder import (
    DEFAULT_RUNS_DIR,
    EventTail,
    LineTail,
    RunDir,
    RunLocked,
    RunSummary,
    hw3tui_command,
    launch_detached,
    list_runs,
    summarize,
)
from hw3tui.runs.resolve import (
    NoSuchRun,
    Target,
    find_run,
    resolve,
    resolve_checkpoint,
    resolve_run,
)
from hw3tui.runs.status import Status

__all__ = [
    "DEFAULT_RUNS_DIR",
    "EventTail",
    "LineTail",
    "NoSuchRun",
    "RunDir",
    "RunLocked",
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
