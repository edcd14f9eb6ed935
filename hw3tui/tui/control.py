"""Starting and stopping runs from the TUI: always a child process, never training in the app.

`Launcher` keeps the children this app started (to reap them, to know one that died before its
engine wrote status.json, and to signal one whose engine has not locked its run yet). Runs found
on disk are stopped by `RunDir.interrupt` (the pid in their status.json, only while their engine
holds the run's lock, so a recycled pid is never signalled).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hw3tui.runs import RunDir, launch_detached
from hw3tui.untrusted import printable


@dataclass(frozen=True)
class ReportChild:
    """A `hw3tui report ... -o DIR` this app started. Its output goes to log.txt in a private
    temporary folder (DIR itself must stay new or a report's: a log there would be a file of
    someone else's), read for its one-line error when it fails, then removed."""

    out: Path
    what: str
    """What is reported (a run's or a sweep's name), for the notification."""
    log_folder: Path
    process: subprocess.Popen[bytes]

    def problem(self) -> str:
        """The last line the child wrote (its error), escaped."""
        try:
            text = (self.log_folder / "log.txt").read_text(errors="replace")
        except OSError:
            text = ""
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            return f"hw3tui report exited with {self.process.returncode}"
        return printable(lines[-1].strip().removeprefix("error: "))


@dataclass
class Launcher:
    """The runs this app launched, by run directory."""

    runs_dir: Path
    children: dict[Path, subprocess.Popen[bytes]] = field(default_factory=dict)
    sweeps: dict[Path, subprocess.Popen[bytes]] = field(default_factory=dict)
    """The sweep processes this app started, by sweep folder (not runs: never listed as one)."""
    reports: list[ReportChild] = field(default_factory=list)
    """The reports being written (`hw3tui report`: it evaluates with torch, so never here)."""

    def launch(self, preset_file: Path, preset_name: str, *, cwd: Path | None = None) -> RunDir:
        """Create the run directory and start `hw3tui run PRESET --run-dir DIR` detached."""
        run = RunDir.create(self.runs_dir, preset_name)
        child = launch_detached(["run", str(preset_file), "--run-dir", str(run.path)], run, cwd=cwd)
        self.children[run.path.resolve()] = child
        return run

    def child(self, run: RunDir) -> subprocess.Popen[bytes] | None:
        return self.children.get(run.path.resolve())

    def exit_code(self, run: RunDir) -> int | None:
        """The child's exit status once it has ended (None while running or not ours)."""
        child = self.child(run)
        return None if child is None else child.poll()

    def starting(self) -> list[RunDir]:
        """Our runs whose engine has not written status.json yet."""
        return [RunDir(p) for p in self.children if not (p / "status.json").exists()]

    def reap(self) -> None:
        """Collect ended children so none lingers as a zombie."""
        for child in [*self.children.values(), *self.sweeps.values()]:
            child.poll()

    def start_report(self, targets: Sequence[Path], out: Path, what: str) -> ReportChild:
        """Start `hw3tui report TARGET... -o OUT` detached (it outlives the app, like a run)."""
        log_folder = Path(tempfile.mkdtemp(prefix="hw3tui-report-log-"))
        try:
            process = launch_detached(
                ["report", *(str(t) for t in targets), "-o", str(out)], RunDir(log_folder)
            )
        except OSError:
            shutil.rmtree(log_folder, ignore_errors=True)
            raise
        child = ReportChild(out, what, log_folder, process)
        self.reports.append(child)
        return child

    def ended_reports(self) -> list[tuple[ReportChild, int, str]]:
        """The reports that ended since the last call: each with its exit status and, when it
        failed, its one-line error. Their temporary logs are removed."""
        ended = []
        for child in list(self.reports):
            code = child.process.poll()
            if code is None:
                continue
            self.reports.remove(child)
            ended.append((child, code, child.problem() if code else ""))
            shutil.rmtree(child.log_folder, ignore_errors=True)
        return ended

    def start_sweep(self, args: list[str], folder: Path) -> None:
        """Start `hw3tui sweep ...` detached, its output appended to the sweep folder's log.txt.

        `launch_detached` needs only a folder and its log.txt: the sweep folder serves as one.
        """
        self.sweeps[folder.resolve()] = launch_detached(args, RunDir(folder))

    def sweep_exit_code(self, folder: Path) -> int | None:
        """The sweep process's exit status once it has ended (None while running or not ours)."""
        child = self.sweeps.get(folder.resolve())
        return None if child is None else child.poll()

    def sweep_alive(self, folder: Path) -> bool:
        """Whether a sweep process this app started for `folder` is still running."""
        child = self.sweeps.get(folder.resolve())
        return child is not None and child.poll() is None

    def cancel_sweep(self, folder: Path) -> bool:
        """SIGINT the sweep's workers on this machine: each cancels its running trials cleanly
        (they stay resumable) and stops claiming new ones."""
        from hw3tui.sweeps.workers import interrupt_workers

        child = self.sweeps.get(folder.resolve())
        if interrupt_workers(folder):
            return True
        if child is not None and child.poll() is None:  # started, not yet holding its lock
            child.send_signal(signal.SIGINT)
            return True
        return False

    def cancel(self, run: RunDir) -> bool:
        """Ask a live run to stop (SIGINT: it finishes its batch, saves, writes `cancelled`)."""
        child = self.child(run)
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGINT)
            return True
        return run.interrupt()

    def live(self, run: RunDir) -> bool:
        child = self.child(run)
        return (child is not None and child.poll() is None) or run.is_live()
