"""The run folder: the contract between a running engine and whoever watches it (torch-free).

Everything that reads or writes a run folder goes through this package: the engine writes
events, status and the result header through it; the TUI, the console and the results commands
read through it.
"""

from hw3tui.runs.folder import (
    DEFAULT_RUNS_DIR,
    EventTail,
    LineTail,
    RunDir,
    RunLocked,
    RunSummary,
    find_run,
    hw3tui_command,
    launch_detached,
    list_runs,
    summarize,
)

__all__ = [
    "DEFAULT_RUNS_DIR",
    "EventTail",
    "LineTail",
    "RunDir",
    "RunLocked",
    "RunSummary",
    "find_run",
    "hw3tui_command",
    "launch_detached",
    "list_runs",
    "summarize",
]
