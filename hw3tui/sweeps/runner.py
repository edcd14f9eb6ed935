"""A sweep worker: claims trials, runs each as an ordinary `hw3tui run` child, prunes, ranks.

Each trial is `hw3tui run START --run-dir SWEEP/runs/trial-NNN --set ...`, started detached
(`hw3tui.runs.launch_detached`: its own process session, output to its log.txt) so a killed
sweep never takes a trial down half-written. The worker tails the trial's events.jsonl through
`hw3tui.runs`, reports each epoch's monitored value to the study, and stops a trial the pruner
gives up on exactly like the TUI's cancel (SIGINT: the run saves and ends `cancelled`, its folder
stays valid). The study's storage decides which worker gets which trial; a worker holds its
trial's `sweep.lock` while it works on it, so `sweep resume` knows a trial whose worker died
(its lock is free) from one another worker is running.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any

from hw3tui.preset.yamlio import MAX_BYTES as PRESET_MAX_BYTES
from hw3tui.regular import read_text_regular
from hw3tui.runs import EventTail, RunDir, launch_detached, summarize
from hw3tui.runs.header import result_of, strip_result, with_result
from hw3tui.signals import handled
from hw3tui.sweeps.file import LoadedSweep
from hw3tui.sweeps.folder import ENDED, Row, SweepDir, ranked, write_best, write_leaderboard
from hw3tui.sweeps.gpus import Slots
from hw3tui.sweeps.study import (
    PRESET_AXIS,
    VARIANT_AXIS,
    enqueue_grid,
    first_worker,
    open_study,
    shown,
    suggest,
)
from hw3tui.untrusted import printable

if TYPE_CHECKING:
    import optuna

POLL_S = 0.25
STOP_WAIT_S = 120.0
"""How long a cancelled trial gets to save its state before the worker stops waiting for it."""

Say = Callable[[str], None]


@dataclass
class Active:
    """A trial this worker is running (or watching, when adopted while its engine runs)."""

    trial: optuna.Trial
    run: RunDir
    slot: int
    process: subprocess.Popen[bytes] | None
    claim: contextlib.ExitStack
    tail: EventTail
    reported: set[int] = field(default_factory=set)
    pruned: bool = False

    @property
    def number(self) -> int:
        return int(self.trial.number)

    def running(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return self.run.is_live()

    def stop(self) -> None:
        """Cancel the run like the TUI does: SIGINT, it finishes its batch and saves."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            return
        self.run.interrupt()  # an adopted trial: its engine, by the pid in its status


@contextlib.contextmanager
def _interruptible() -> Iterator[list[bool]]:
    """Turn SIGINT/SIGTERM into a flag the loop checks, so no storage write is cut in half."""
    flag = [False]

    def handler(signum: int, frame: FrameType | None) -> None:
        flag[0] = True

    with handled(handler, signal.SIGINT, signal.SIGTERM):
        yield flag


class Worker:
    """Runs a sweep's trials until none is left to claim; several may share one sweep."""

    def __init__(self, folder: SweepDir, loaded: LoadedSweep, slots: Slots, say: Say) -> None:
        self.folder = folder
        self.loaded = loaded
        self.slots = slots
        # a trial line quotes axis values and paths from the sweep file: escaped for every face
        self.say: Say = lambda line: say(printable(line))
        self.study = open_study(folder, loaded)
        self.active: dict[int, Active] = {}

    def run(self) -> bool:
        """Work until every trial has ended (True) or Ctrl-C (False: cancelled, resumable)."""
        with _interruptible() as interrupted:
            with first_worker(self.folder):  # Ctrl-C stops it between two trials: resumable
                if not enqueue_grid(self.study, self.loaded, stop=lambda: interrupted[0]):
                    self.publish()
                    return False
            self.publish()
            while True:
                if interrupted[0]:
                    self._cancel_all()
                    return False
                self._fill()
                if not self.active:
                    return True
                for active in list(self.active.values()):
                    self._watch(active)
                time.sleep(POLL_S)

    # ---- claiming ---------------------------------------------------------------------------

    def _fill(self) -> None:
        free = [s for s in range(len(self.slots.gpus)) if s not in self.active]
        for slot in free:
            if not (self._adopt(slot) or self._claim_new(slot)):
                return

    def _adopt(self, slot: int) -> bool:
        """Take over a trial left running by a worker that died (its claim is free)."""
        import optuna

        mine = {a.number for a in self.active.values()}
        running = self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        for frozen in running:
            if frozen.number in mine or frozen.user_attrs.get("surplus"):
                continue
            if "overrides" not in frozen.user_attrs and time.time() - _started(frozen) < 30:
                continue  # a worker between ask() and its claim: not an orphan yet
            claim = self._claim(frozen.number)
            if claim is None:
                continue
            trial = optuna.Trial(self.study, frozen._trial_id)
            self._start(trial, slot, claim, adopted=True)
            return True
        return False

    def _claim_new(self, slot: int) -> bool:
        import optuna

        trials = [t for t in self.study.get_trials(deepcopy=False) if not _surplus(t)]
        grid = self.loaded.sweep.method == "grid"
        waiting = [t for t in trials if t.state == optuna.trial.TrialState.WAITING]
        if (grid and not waiting) or (not grid and len(trials) >= self.loaded.sweep.planned()):
            return False
        trial = self.study.ask()
        earlier = [t for t in trials if t.number < trial.number]
        queued = any(
            "fixed_params" in t.system_attrs
            for t in self.study.get_trials(deepcopy=False)
            if t.number == trial.number
        )
        if (grid and not queued) or (not grid and len(earlier) >= self.loaded.sweep.planned()):
            # another worker took the last trial between our look and our ask: not a trial
            trial.set_user_attr("surplus", True)
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            return False
        claim = self._claim(trial.number)
        if claim is None:
            return False  # adopted by a worker that took it for an orphan: it runs it
        self._start(trial, slot, claim, adopted=False)
        return True

    def _claim(self, number: int) -> contextlib.ExitStack | None:
        stack = contextlib.ExitStack()
        if stack.enter_context(self.folder.claim(number)):
            return stack
        stack.close()
        return None

    # ---- one trial ----------------------------------------------------------------------------

    def _start(
        self, trial: optuna.Trial, slot: int, claim: contextlib.ExitStack, *, adopted: bool
    ) -> None:
        start, params = suggest(trial, self.loaded)
        overrides = self.loaded.overrides(params)
        trial.set_user_attr("overrides", overrides)
        run = self.folder.run_of(trial.number)
        status = run.read_status()
        process: subprocess.Popen[bytes] | None = None
        env = self.slots.env(slot)
        label = _label(start, params, self.loaded)
        if run.is_live():
            self.say(f"trial {trial.number} running ({label}): watching it again")
        elif status is not None and status.state in ("done", "failed"):
            pass  # it ended while no worker watched: its result is on disk
        elif run.status_file.exists() and run.preset_file.is_file():
            self.say(f"trial {trial.number} continued ({label})")
            process = launch_detached(["resume", str(run.path)], run, env=env)
        else:
            verb = "restarted" if adopted else "started"
            self.say(f"trial {trial.number} {verb} ({label}) in {run.path}")
            args = ["run", start, "--run-dir", str(run.path)]
            args += [arg for override in overrides for arg in ("--set", override)]
            process = launch_detached(args, run, env=env)
        tail = EventTail(run.events_file)
        # an adopted trial's epochs reported by the worker that died are not reported again
        reported = {
            step
            for frozen in self.study.get_trials(deepcopy=False)
            if frozen.number == trial.number
            for step in frozen.intermediate_values
        }
        self.active[slot] = Active(trial, run, slot, process, claim, tail, reported)
        self.publish()

    def _watch(self, active: Active) -> None:
        """Report new epochs, prune if the pruner says so, and finish an ended trial."""
        running = active.running()  # before reading: every event of an ended run is on disk
        monitor = self.loaded.monitor
        for record in active.tail.read():
            if record.get("type") != "epoch_end":
                continue
            epoch, value = record.get("epoch"), record.get(monitor)
            if not isinstance(epoch, int) or not isinstance(value, int | float):
                continue
            if epoch not in active.reported:
                active.trial.report(float(value), epoch)
                active.reported.add(epoch)
                self.publish()
            if not active.pruned and active.trial.should_prune():
                active.pruned = True
                self.say(f"trial {active.number} pruned after epoch {epoch}: {monitor} {value:.4f}")
                active.stop()
        if not running:
            self._finish(active)

    def _finish(self, active: Active) -> None:
        import optuna

        summary = summarize(active.run)
        state = summary.state if summary is not None else "failed"
        best: Mapping[str, Any] = (summary.best or {}) if summary is not None else {}
        value = best.get("value")
        if active.pruned:
            self.study.tell(active.trial, state=optuna.trial.TrialState.PRUNED)
        elif state == "done" and isinstance(value, int | float):
            self.study.tell(active.trial, float(value))
        else:
            self.study.tell(active.trial, state=optuna.trial.TrialState.FAIL)
        del self.active[active.slot]
        active.claim.close()
        rows = self.publish()
        self.say(_ended_line(active.number, rows, self.loaded.monitor, self.loaded.sweep.planned()))

    def _cancel_all(self) -> None:
        """Ctrl-C: cancel every trial cleanly; they stay running in the study, so `sweep resume`
        continues each with `hw3tui resume`."""
        for active in self.active.values():
            self.say(f"trial {active.number}: cancelling (resumable)")
            active.stop()
        deadline = time.monotonic() + STOP_WAIT_S
        while any(a.running() for a in self.active.values()) and time.monotonic() < deadline:
            time.sleep(POLL_S)
        for active in self.active.values():
            active.claim.close()
        self.active.clear()
        self.publish()

    # ---- what the sweep folder shows ----------------------------------------------------------

    def rows(self) -> list[Row]:
        return leaderboard_rows(self.folder, self.study, self.loaded)

    def publish(self) -> list[Row]:
        """Rewrite leaderboard.csv and best.yaml (atomically) from the study and the runs."""
        rows = self.rows()
        write_leaderboard(self.folder, rows, axes_of(self.loaded))
        if self.loaded.sweep.variants:
            publish_ablation(self.folder, rows, self.loaded)
        best = next((r for r in rows if r.state == "done" and r.value is not None), None)
        if best is not None:
            run = RunDir(self.folder.path / best.run)
            with contextlib.suppress(OSError, UnicodeDecodeError):
                text = strip_result(read_text_regular(run.preset_file, limit=PRESET_MAX_BYTES))
                lines = [*result_of(run), f"sweep {self.folder.name} · trial {best.trial}"]
                write_best(self.folder, with_result(text, lines))
        return rows


def publish_ablation(folder: SweepDir, rows: list[Row], loaded: LoadedSweep) -> None:
    """Rewrite ablation.csv and ablation.png from every trial's run folder."""
    from hw3tui.sweeps.ablation import write_ablation

    trials = [
        (row.params[VARIANT_AXIS], RunDir(folder.path / row.run))
        for row in rows
        if VARIANT_AXIS in row.params
    ]
    names = [variant.name for variant in loaded.sweep.variants]
    write_ablation(folder, trials, loaded.monitor, names)


def axes_of(loaded: LoadedSweep) -> list[str]:
    """The leaderboard's axis columns."""
    queue = [PRESET_AXIS] if loaded.sweep.presets else []
    variants = [VARIANT_AXIS] if loaded.sweep.variants else []
    return queue + variants + list(loaded.sweep.axes)


STATES = {"COMPLETE": "done", "PRUNED": "pruned", "FAIL": "failed"}


def leaderboard_rows(folder: SweepDir, study: optuna.Study, loaded: LoadedSweep) -> list[Row]:
    """Every trial, best first: its state from the study, its value from its run's status.json."""
    rows = []
    for frozen in study.get_trials(deepcopy=False):
        if _surplus(frozen):
            continue
        run = folder.run_of(frozen.number)
        summary = summarize(run)
        best: Mapping[str, Any] = (summary.best or {}) if summary is not None else {}
        value, epoch = best.get("value"), best.get("epoch")
        state = STATES.get(frozen.state.name, frozen.state.name.lower())
        if state == "running" and summary is not None and summary.state in ("cancelled", "killed"):
            state = "stopped"  # its worker was stopped: `hw3tui sweep resume` continues it
        rows.append(
            Row(
                trial=frozen.number,
                state=state,
                value=float(value) if isinstance(value, int | float) else None,
                epoch=int(epoch) if isinstance(epoch, int) else None,
                run=str(run.path.relative_to(folder.path)),
                params=shown(frozen.params),
            )
        )
    return ranked(rows, higher_is_better=loaded.monitor == "val_acc")


def _surplus(frozen: Any) -> bool:
    return bool(frozen.user_attrs.get("surplus"))


def _started(frozen: Any) -> float:
    start = frozen.datetime_start
    return start.timestamp() if start is not None else 0.0


def _label(start: str, params: dict[str, Any], loaded: LoadedSweep) -> str:
    shown_params = shown(params)
    parts = [f"{k}={v}" for k, v in shown_params.items()]
    if loaded.sweep.presets:
        parts.insert(0, start)
    return " ".join(parts) or start


def _ended_line(number: int, rows: list[Row], monitor: str, planned: int) -> str:
    """`trial 3 done: val_acc 0.8750 at epoch 2 · 4/4 ended · top: #3 0.8750, #1 0.8333`."""
    row = next(r for r in rows if r.trial == number)
    ended = sum(r.state in ENDED for r in rows)
    result = (
        f"{monitor} {row.value:.4f} at epoch {row.epoch}" if row.value is not None else "no result"
    )
    top = ", ".join(f"#{r.trial} {r.value:.4f}" for r in rows[:3] if r.value is not None)
    return f"trial {number} {row.state}: {result} · {ended}/{planned} ended · top: {top or '-'}"
