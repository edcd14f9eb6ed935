"""A sweep worker: claims trials, runs each as an ordinary `hw3tui run` child, prunes, ranks.

Each trial is `hw3tui run START --run-dir SWEEP/runs/trial-NNN --set ...`, started detached
(`hw3tui.runs.launch_detached`: its own process session, output to its log.txt) so a killed
sweep never takes a trial down half-written. The worker tails the trial's events.jsonl through
`hw3tui.runs`, reports each epoch's monitored value to the study, and stops a trial the pruner
gives up on exactly like the TUI's cancel (SIGINT: the run saves and ends `cancelled`, its folder
stays valid). The study's storage decides which worker gets which trial; a worker holds its
trial's `sweep.lock` while it works on it, so `sweep resume` knows a trial whose worker died
(its lock is free) from one another worker is running.

Repeats (`repeat: N`): an Optuna trial is a configuration, and its N seeds are N run folders
`runs/trial-NNN-s0..` (`SweepDir.run_of(number, k, N)`), run one after another in the trial's
slot with `--set seed=<the preset's seed + k>` (`LoadedSweep.run_overrides`). Why one trial per
configuration rather than one per seed: the sampler must learn from the configuration's mean,
which Optuna can only be told as one trial's value (`tell(trial, mean)`), and a pruned trial
then stops the configuration as a whole: the seed running is cancelled and the seeds after it
never start. Seed k's epoch e is reported at step k * STEP_STRIDE + e, so the pruner compares
configurations at the same seed and epoch (every configuration runs the same seeds in the same
order), and later seeds are judged too, never the first alone. A trial knows its configuration
id (its number, the leaderboard's `config`) and its seeds (the leaderboard's `seed`).
"""

from __future__ import annotations

import contextlib
import math
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any

from hw3tui.preset.yamlio import MAX_BYTES as PRESET_MAX_BYTES
from hw3tui.regular import read_text_regular
from hw3tui.results.verdicts import higher_is_better
from hw3tui.runs import EventTail, RunDir, launch_detached, summarize
from hw3tui.runs.header import result_of, strip_result, with_result
from hw3tui.signals import handled
from hw3tui.sweeps.configs import ConfigRow, config_rows, write_configs
from hw3tui.sweeps.file import LoadedSweep
from hw3tui.sweeps.folder import ENDED, Row, SweepDir, ranked, write_best, write_leaderboard
from hw3tui.sweeps.gpus import Slots
from hw3tui.sweeps.patience import DatabaseAway, Patience
from hw3tui.sweeps.probe import probe_runtime
from hw3tui.sweeps.storage import shown as shown_url
from hw3tui.sweeps.study import (
    PRESET_AXIS,
    RETRY_OF,
    VARIANT_AXIS,
    enqueue_grid,
    first_worker,
    grid_copies,
    grid_point,
    open_study,
    retry_failed,
    shown,
    suggest,
)
from hw3tui.untrusted import printable

if TYPE_CHECKING:
    import optuna

POLL_S = 0.25
STEP_STRIDE = 100_000
"""Optuna's step of seed k's epoch e is k * STEP_STRIDE + e (schedule.epochs is at most 10,000)."""
IDLE_POLL_S = 1.0
"""How often a worker with nothing left to claim looks at the other workers' trials."""
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
    """Optuna steps already reported (k * STEP_STRIDE + epoch)."""
    pruned: bool = False
    k: int = 0
    """Which of the configuration's seeds runs now (0 without repeats)."""
    start: str = ""
    params: dict[str, Any] = field(default_factory=dict)

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

    def __init__(
        self,
        folder: SweepDir,
        loaded: LoadedSweep,
        slots: Slots,
        say: Say,
        *,
        retry_failed: bool = False,
    ) -> None:
        self.folder = folder
        self.loaded = loaded
        self.slots = slots
        self.retry_failed = retry_failed
        # a trial line quotes axis values and paths from the sweep file: escaped for every face
        self.say: Say = lambda line: say(printable(line))
        url = loaded.sweep.storage
        # a database may go away for a while (a restart): every call waits for it to come back
        self.patience = Patience(shown_url(url), self.say) if url else None
        self.study = _opened(folder, loaded, self.patience)
        self.active: dict[int, Active] = {}
        self._copies: Counter[tuple[tuple[str, str], ...]] | None = None

    def run(self) -> bool:
        """Work until every trial has ended (True) or Ctrl-C (False: cancelled, resumable).

        Raises `DatabaseAway` when the database stayed unreachable past the limit: the trials
        keep running, their claims are let go, and `sweep resume` adopts them."""
        with _interruptible() as interrupted:
            if self.patience is not None:
                self.patience.stop = lambda: interrupted[0]
            try:
                return self._work(interrupted)
            except DatabaseAway as exc:
                if exc.interrupted:  # Ctrl-C while waiting for the database
                    self._cancel_all(publish=False)
                    return False
                for active in self.active.values():
                    active.claim.close()
                self.active.clear()
                raise

    def _work(self, interrupted: list[bool]) -> bool:
        with first_worker(self.folder):  # Ctrl-C stops it between two trials: resumable
            if self.retry_failed:
                again = retry_failed(self.study)
                listed = ", ".join(str(n) for n in again)
                self.say(f"failed trials queued again: {listed or 'none'}")
            if not enqueue_grid(self.study, self.loaded, stop=lambda: interrupted[0]):
                self.publish()
                return False
            # one runtime measurement for all trials; the next worker waits, reads the cache
            probe_runtime(self.loaded, self.slots.env(0), self.say, lambda: interrupted[0])
        self.publish()
        seen: tuple[tuple[int, str, int], ...] = ()
        while True:
            if interrupted[0]:
                self._cancel_all()
                return False
            self._fill()
            if not self.active:
                # nothing to claim: stay while other workers (on any machine) run trials,
                # so this folder's leaderboard follows them to the end and a trial whose
                # worker dies is taken over here (`_adopt`)
                now = self._elsewhere()
                if now != seen or not now:
                    self.publish()
                if not now:
                    return True
                seen = now
                time.sleep(IDLE_POLL_S)
                continue
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

    def _elsewhere(self) -> tuple[tuple[int, str, int], ...]:
        """The trials other workers are running, with how many epochs each has reported: what
        this worker waits for when it has nothing left to claim."""
        import optuna

        running = (optuna.trial.TrialState.RUNNING,)
        return tuple(
            (t.number, t.state.name, len(t.intermediate_values))
            for t in self.study.get_trials(deepcopy=False, states=running)
            if not _surplus(t)
        )

    def _claim_new(self, slot: int) -> bool:
        import optuna

        while True:
            trials = [t for t in self.study.get_trials(deepcopy=False) if not _surplus(t)]
            grid = self.loaded.sweep.method == "grid"
            waiting = [t for t in trials if t.state == optuna.trial.TrialState.WAITING]
            # random and tpe draw `planned()` trials; failed ones queued again come on top of them
            drawn = [t for t in trials if RETRY_OF not in t.user_attrs]
            if not waiting and (grid or len(drawn) >= self.loaded.sweep.planned()):
                return False
            trial = self.study.ask()
            earlier = [t for t in drawn if t.number < trial.number]
            asked = next(
                (t for t in self.study.get_trials(deepcopy=False) if t.number == trial.number),
                None,
            )
            queued = asked is not None and "fixed_params" in asked.system_attrs
            # another worker took the last trial between our look and our ask
            surplus = not queued and (grid or len(earlier) >= self.loaded.sweep.planned())
            # a second copy of a grid point: two machines set the grid up at once (their
            # setup locks did not meet); the earliest copies run, this one is dropped
            # (a failed trial queued again by --retry-failed is a copy on purpose)
            copy = (
                grid
                and asked is not None
                and RETRY_OF not in asked.user_attrs
                and self._copied(asked, earlier)
            )
            if surplus or copy:  # not a trial to run: marked so, ended, never listed
                trial.set_user_attr("surplus", True)
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
                if copy:
                    continue
                return False
            break
        claim = self._claim(trial.number)
        if claim is None:
            return False  # adopted by a worker that took it for an orphan: it runs it
        self._start(trial, slot, claim, adopted=False)
        return True

    def _copied(self, asked: optuna.trial.FrozenTrial, earlier: list[Any]) -> bool:
        """Whether earlier trials already hold every planned copy of `asked`'s grid point."""
        if self._copies is None:
            self._copies = grid_copies(self.loaded)
        point = grid_point(asked)
        return sum(grid_point(t) == point for t in earlier) >= self._copies[point]

    def _claim(self, number: int) -> contextlib.ExitStack | None:
        stack = contextlib.ExitStack()
        if stack.enter_context(self.folder.claim(number, self.loaded.sweep.repeat)):
            return stack
        stack.close()
        return None

    # ---- one trial ----------------------------------------------------------------------------

    def _start(
        self, trial: optuna.Trial, slot: int, claim: contextlib.ExitStack, *, adopted: bool
    ) -> None:
        start, params = suggest(trial, self.loaded)
        trial.set_user_attr("overrides", self.loaded.overrides(params))
        repeat = self.loaded.sweep.repeat
        # the first seed not ended yet (a trial adopted or resumed may have some behind it)
        k = 0
        while k < repeat - 1 and _ended_done(self.folder.run_of(trial.number, k, repeat)):
            k += 1
        # an adopted trial's epochs reported by the worker that died are not reported again
        reported = {
            step
            for frozen in self.study.get_trials(deepcopy=False)
            if frozen.number == trial.number
            for step in frozen.intermediate_values
        }
        active = Active(
            trial,
            self.folder.run_of(trial.number, k, repeat),
            slot,
            None,
            claim,
            EventTail(self.folder.run_of(trial.number, k, repeat).events_file),
            reported,
            k=k,
            start=start,
            params=params,
        )
        self.active[slot] = active
        self._launch(active, adopted=adopted)
        self.publish()

    def _launch(self, active: Active, *, adopted: bool) -> None:
        """Start, continue or watch again the run of the active trial's seed k."""
        run, number = active.run, active.number
        status = run.read_status()
        env = self.slots.env(active.slot)
        label = _label(active.start, active.params, self.loaded)
        if self.loaded.sweep.repeat > 1:
            label += f" seed {self.loaded.seed_of(active.start, active.params, active.k)}"
        retry = active.trial.user_attrs.get(RETRY_OF)
        if isinstance(retry, int) and not adopted:
            label += f", a retry of failed trial {retry}"
        if run.is_live():
            self.say(f"trial {number} running ({label}): watching it again")
        elif status is not None and status.state in ("done", "failed"):
            pass  # it ended while no worker watched: its result is on disk
        elif run.status_file.exists() and run.preset_file.is_file():
            self.say(f"trial {number} continued ({label})")
            active.process = launch_detached(["resume", str(run.path)], run, env=env)
        else:
            verb = "restarted" if adopted else "started"
            self.say(f"trial {number} {verb} ({label}) in {run.path}")
            overrides = self.loaded.run_overrides(active.start, active.params, active.k)
            args = ["run", active.start, "--run-dir", str(run.path)]
            args += [arg for override in overrides for arg in ("--set", override)]
            active.process = launch_detached(args, run, env=env)

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
            step = active.k * STEP_STRIDE + epoch
            if step not in active.reported:
                active.trial.report(float(value), step)
                active.reported.add(step)
                self.publish()
            if not active.pruned and active.trial.should_prune():
                active.pruned = True
                self.say(f"trial {active.number} pruned after epoch {epoch}: {monitor} {value:.4f}")
                active.stop()
        if not running:
            self._finish(active)

    def _finish(self, active: Active) -> None:
        """A seed's run ended: start the configuration's next seed, or tell the study its value
        (the mean of its seeds), pruned or failed."""
        import optuna

        summary = summarize(active.run)
        state = summary.state if summary is not None else "failed"
        best: Mapping[str, Any] = (summary.best or {}) if summary is not None else {}
        value = best.get("value")
        ok = state == "done" and isinstance(value, int | float)
        repeat = self.loaded.sweep.repeat
        if ok and not active.pruned and active.k + 1 < repeat:
            active.k += 1
            active.run = self.folder.run_of(active.number, active.k, repeat)
            active.tail = EventTail(active.run.events_file)
            active.process = None
            self.publish()
            self._launch(active, adopted=False)
            return
        if active.pruned:
            self.study.tell(active.trial, state=optuna.trial.TrialState.PRUNED)
        elif ok:
            values = [self._value_of(active.number, k) for k in range(repeat)]
            kept = [v for v in values if v is not None]
            if len(kept) == repeat:
                self.study.tell(active.trial, math.fsum(kept) / len(kept))
            else:
                self.study.tell(active.trial, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(active.trial, state=optuna.trial.TrialState.FAIL)
        del self.active[active.slot]
        active.claim.close()
        rows = self.publish()
        self.say(_ended_line(active.number, rows, self.loaded))

    def _value_of(self, number: int, k: int) -> float | None:
        """Seed k's best monitored value, if its run ended done with a finite one."""
        summary = summarize(self.folder.run_of(number, k, self.loaded.sweep.repeat))
        if summary is None or summary.state != "done":
            return None
        best: Mapping[str, Any] = summary.best or {}
        value = best.get("value")
        if not isinstance(value, int | float) or not math.isfinite(value):
            return None
        return float(value)

    def _cancel_all(self, *, publish: bool = True) -> None:
        """Ctrl-C: cancel every trial cleanly; they stay running in the study, so `sweep resume`
        continues each with `hw3tui resume` (`publish=False`: the database is away)."""
        for active in self.active.values():
            self.say(f"trial {active.number}: cancelling (resumable)")
            active.stop()
        deadline = time.monotonic() + STOP_WAIT_S
        while any(a.running() for a in self.active.values()) and time.monotonic() < deadline:
            time.sleep(POLL_S)
        for active in self.active.values():
            active.claim.close()
        self.active.clear()
        if publish:
            self.publish()

    # ---- what the sweep folder shows ----------------------------------------------------------

    def rows(self) -> list[Row]:
        return leaderboard_rows(self.folder, self.study, self.loaded)

    def publish(self) -> list[Row]:
        """Rewrite leaderboard.csv, configs.csv and best.yaml (atomically) from the study and
        the runs."""
        rows = self.rows()
        axes = axes_of(self.loaded)
        write_leaderboard(self.folder, rows, axes)
        if self.loaded.sweep.variants:
            publish_ablation(self.folder, rows, self.loaded)
        configs = config_rows(rows, higher_is_better=higher_is_better(self.loaded.monitor))
        write_configs(self.folder, configs, axes)
        best = next((c for c in configs if c.word == "best" and c.complete), None)
        if best is not None:
            repeat = self.loaded.sweep.repeat
            run = self.folder.run_of(best.config, 0, repeat)  # the preset's own seed
            with contextlib.suppress(OSError, UnicodeDecodeError):
                text = strip_result(read_text_regular(run.preset_file, limit=PRESET_MAX_BYTES))
                lines = [*result_of(run), f"sweep {self.folder.name} · trial {best.config}"]
                if repeat > 1 and best.spread.mean is not None:
                    lines.append(
                        f"{self.loaded.monitor} mean {best.spread.mean:.4f} ± "
                        f"{best.spread.std or 0.0:.4f} over {best.spread.n} seeds"
                    )
                write_best(self.folder, with_result(text, lines))
        return rows


def _opened(
    folder: SweepDir, loaded: LoadedSweep, patience: Patience | None, tries: int = 5
) -> optuna.Study:
    """The sweep's study, opened under the setup lock: workers starting together on a fresh
    database (a job array) would each create its tables, and all but one fail on a duplicate
    name. Where the lock does not reach the other machine, a creation that lost that race is
    tried again: the winner's tables are there by then."""
    import sqlalchemy.exc

    for attempt in range(tries - 1):
        lost = (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError)
        with contextlib.suppress(*lost), first_worker(folder):
            return open_study(folder, loaded, patience)
        time.sleep(1.0 + attempt)
    with first_worker(folder):
        return open_study(folder, loaded, patience)


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
    """Every run (a trial's seeds), best first: its state from the study and its run, its value
    from its run's status.json."""
    rows = []
    repeat = loaded.sweep.repeat
    for frozen in study.get_trials(deepcopy=False):
        if _surplus(frozen):
            continue
        trial_state = STATES.get(frozen.state.name, frozen.state.name.lower())
        params = _params_of(frozen)
        start = str(params.get(PRESET_AXIS, loaded.starts[0]))
        for k in range(repeat):
            run = folder.run_of(frozen.number, k, repeat)
            summary = summarize(run)
            best: Mapping[str, Any] = (summary.best or {}) if summary is not None else {}
            value, epoch = best.get("value"), best.get("epoch")
            state = _run_state(trial_state, summary.state if summary is not None else None)
            rows.append(
                Row(
                    trial=frozen.number,
                    state=state,
                    value=float(value) if isinstance(value, int | float) else None,
                    epoch=int(epoch) if isinstance(epoch, int) else None,
                    run=folder.shown_run(run),
                    params=shown(frozen.params),
                    config=frozen.number,
                    seed=loaded.seed_of(start, params, k),
                )
            )
    return ranked(rows, higher_is_better=higher_is_better(loaded.monitor))


def _run_state(trial: str, run: str | None) -> str:
    """A run's leaderboard state: its trial's, except a seed that ended done in a configuration
    still running, pruned or failed is `done`, and a seed not started of a running one waits."""
    if run == "done":
        return "done"
    if trial == "running":
        if run in ("cancelled", "killed"):
            return "stopped"  # its worker was stopped: `hw3tui sweep resume` continues it
        if run is None:
            return "waiting"
    return trial


def _params_of(frozen: Any) -> dict[str, Any]:
    """A trial's axis values as `suggest` gives them (with the preset of a queue), without
    asking the sampler: the frozen trial's params, else its queued grid values."""
    params: dict[str, Any] = dict(frozen.params or frozen.system_attrs.get("fixed_params") or {})
    return params


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


def _ended_line(number: int, rows: list[Row], loaded: LoadedSweep) -> str:
    """`trial 3 done: val_acc 0.8750 at epoch 2 · 4/4 ended · top: #3 0.8750, #1 0.8333`; with
    repeats, the configuration's mean ± std over its seeds and the top by mean."""
    # failed trials queued again (`--retry-failed`) are rows beyond the planned count
    monitor, planned = loaded.monitor, max(loaded.sweep.planned(), len({r.trial for r in rows}))
    mine = [r for r in rows if r.trial == number]
    state = next((r.state for r in mine if r.state != "done"), "done")
    ended = len({r.trial for r in rows if r.state in ENDED} - _unended(rows))
    if loaded.sweep.repeat == 1:
        row = mine[0]
        result = (
            f"{monitor} {row.value:.4f} at epoch {row.epoch}"
            if row.value is not None
            else "no result"
        )
        top = ", ".join(f"#{r.trial} {r.value:.4f}" for r in rows[:3] if r.value is not None)
        return f"trial {number} {row.state}: {result} · {ended}/{planned} ended · top: {top or '-'}"
    configs = config_rows(rows, higher_is_better=higher_is_better(monitor))
    this = next(c for c in configs if c.config == number)
    result = f"{monitor} {_mean_std(this)} over {this.spread.n} seeds"
    top = ", ".join(f"#{c.config} {_mean_std(c)}" for c in configs[:3] if c.spread.n)
    return f"trial {number} {state}: {result} · {ended}/{planned} ended · top: {top or '-'}"


def _unended(rows: list[Row]) -> set[int]:
    return {r.trial for r in rows if r.state not in ENDED}


def _mean_std(config: ConfigRow) -> str:
    s = config.spread
    if s.mean is None:
        return "no result"
    return f"{s.mean:.4f} ± {s.std:.4f}" if s.std is not None else f"{s.mean:.4f}"


def _ended_done(run: RunDir) -> bool:
    status = run.read_status()
    return status is not None and status.state == "done"
