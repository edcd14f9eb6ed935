"""Patience with the sweep's database: a worker waits out an outage instead of losing a result.

Every call a worker makes to the study (ask, tell, report, should_prune, get_trials, user attrs,
enqueue) goes through Optuna's storage object, so the one place to wait is a storage that wraps
the real one (`PatientStorage`): a call that finds the database unreachable is tried again after
a wait that doubles from `FIRST_WAIT_S` up to `MAX_WAIT_S`, until the database answers or
`GIVE_UP_S` have passed since the first failure. Meanwhile the trials keep training (they are
detached `hw3tui run` children that never touch the database); their epochs and results are
read from their run folders and reported once the database is back. Past the limit the worker
stops with `DatabaseAway` (one line naming the database), its trials left running or resumable:
`hw3tui sweep resume DIR` adopts and finishes them.

Unreachable, as Optuna 5.1's RDB storage shows it (tried with the server stopped): every call on
a storage already open raises `optuna.exceptions.StorageInternalError` whose cause is a
`sqlalchemy.exc.OperationalError` (psycopg's `OperationalError` or `AdminShutdown` below it);
opening one raises the bare `OperationalError` (not waited for: a wrong URL or password at the
start is said at once). Nothing else is retried: a bad value or a broken schema fails at once.

Only a database URL's storage is wrapped: the journal file in the sweep folder has no outage.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.storages import BaseStorage

FIRST_WAIT_S = 1.0
"""The first wait after a call found the database unreachable; each next wait doubles..."""
MAX_WAIT_S = 30.0
"""...up to this."""
GIVE_UP_S = 600.0
"""A worker gives up on a database unreachable this long (10 minutes) and stops."""
NAP_S = 1.0
"""A wait is slept in naps this long, so that Ctrl-C is heard within a second."""

Say = Callable[[str], None]


class DatabaseAway(Exception):
    """The database stayed unreachable past the limit (or Ctrl-C came while waiting for it).

    Not bad input: the CLI prints the message (one line) and exits 1; the trials keep running."""

    def __init__(self, message: str, *, interrupted: bool = False) -> None:
        super().__init__(message)
        self.interrupted = interrupted


def unreachable(exc: BaseException) -> BaseException | None:
    """The `sqlalchemy.exc.OperationalError` that says the database cannot be reached, if it is
    what `exc` (or its cause) is."""
    from sqlalchemy.exc import OperationalError

    seen = 0
    cause: BaseException | None = exc
    while cause is not None and seen < 8:  # Optuna wraps it once; psycopg's error is below
        if isinstance(cause, OperationalError):
            return cause
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    return None


def _reason(error: BaseException) -> str:
    """The driver's first line (`connection refused`, `terminating connection ...`)."""
    orig = getattr(error, "orig", None) or error
    lines = str(orig).strip().splitlines()
    return lines[0][:200] if lines else type(orig).__name__


@dataclass
class Patience:
    """How long and how a worker waits for its database; the clock and sleep are injectable so
    tests never sleep for real."""

    where: str
    """The database, as `hw3tui.sweeps.storage.shown` shows it."""
    say: Say
    first_s: float = FIRST_WAIT_S
    max_s: float = MAX_WAIT_S
    limit_s: float = field(default_factory=lambda: GIVE_UP_S)
    """Read when made, so a test may lower `GIVE_UP_S` for a whole CLI run."""
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    stop: Callable[[], bool] = field(default=lambda: False)
    """Set by the worker: True once Ctrl-C came (the wait ends at once)."""

    def call(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`fn(*args, **kwargs)`, tried again while the database is unreachable."""
        since: float | None = None
        wait = self.first_s
        while True:
            try:
                result = fn(*args, **kwargs)
            except optuna.exceptions.UpdateFinishedTrialError:
                if since is not None and name == "set_trial_state_values":
                    # the first try's commit landed and only its answer was lost: told already
                    return True
                raise
            except Exception as exc:
                error = unreachable(exc)
                if error is None:
                    raise
                now = self.clock()
                if since is None:
                    since = now
                    self.say(
                        f"database {self.where} unreachable ({_reason(error)}): waiting for it "
                        f"(up to {_minutes(self.limit_s)}); running trials keep training"
                    )
                self._wait(min(wait, self.limit_s - (now - since)), since)
                wait = min(wait * 2, self.max_s)
                continue
            if since is not None:
                self.say(f"database {self.where} is back after {self.clock() - since:.0f} s")
            return result

    def _wait(self, seconds: float, since: float) -> None:
        """Sleep `seconds` in naps; give up past the limit or on Ctrl-C."""
        end = self.clock() + max(seconds, 0.0)
        while True:
            if self.stop():
                raise DatabaseAway(
                    f"database {self.where} unreachable: cancelled while waiting for it",
                    interrupted=True,
                )
            now = self.clock()
            if now - since >= self.limit_s:
                raise DatabaseAway(
                    f"database {self.where} unreachable for {_minutes(self.limit_s)}: "
                    "worker stopped (its trials keep running)"
                )
            if now >= end:
                return
            self.sleep(min(NAP_S, end - now))


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


class PatientStorage(BaseStorage):
    """An Optuna storage that passes each call to `inner` through `Patience.call`.

    Every method of `BaseStorage` is listed so that none reaches the database unwatched (the
    ones with a default in `BaseStorage` too: `inner` may implement them its own way)."""

    def __init__(self, inner: BaseStorage, patience: Patience) -> None:
        self.inner = inner
        self.patience = patience

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.patience.call(name, getattr(self.inner, name), *args, **kwargs)

    def create_new_study(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("create_new_study", *args, **kwargs)

    def delete_study(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("delete_study", *args, **kwargs)

    def set_study_user_attr(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("set_study_user_attr", *args, **kwargs)

    def set_study_system_attr(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("set_study_system_attr", *args, **kwargs)

    def get_study_id_from_name(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_study_id_from_name", *args, **kwargs)

    def get_study_name_from_id(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_study_name_from_id", *args, **kwargs)

    def get_study_directions(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_study_directions", *args, **kwargs)

    def get_study_user_attrs(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_study_user_attrs", *args, **kwargs)

    def get_study_system_attrs(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_study_system_attrs", *args, **kwargs)

    def get_all_studies(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_all_studies", *args, **kwargs)

    def create_new_trial(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("create_new_trial", *args, **kwargs)

    def set_trial_param(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("set_trial_param", *args, **kwargs)

    def get_trial_id_from_study_id_trial_number(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_trial_id_from_study_id_trial_number", *args, **kwargs)

    def get_trial_number_from_id(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_trial_number_from_id", *args, **kwargs)

    def get_trial_param(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_trial_param", *args, **kwargs)

    def set_trial_state_values(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("set_trial_state_values", *args, **kwargs)

    def set_trial_intermediate_value(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("set_trial_intermediate_value", *args, **kwargs)

    def set_trial_user_attr(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("set_trial_user_attr", *args, **kwargs)

    def set_trial_system_attr(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("set_trial_system_attr", *args, **kwargs)

    def get_trial(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_trial", *args, **kwargs)

    def get_all_trials(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_all_trials", *args, **kwargs)

    def get_n_trials(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_n_trials", *args, **kwargs)

    def get_best_trial(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_best_trial", *args, **kwargs)

    def get_trial_params(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_trial_params", *args, **kwargs)

    def get_trial_user_attrs(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_trial_user_attrs", *args, **kwargs)

    def get_trial_system_attrs(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_trial_system_attrs", *args, **kwargs)

    def remove_session(self) -> None:
        self.inner.remove_session()  # local: closes this process's connection, nothing to wait

    def check_trial_is_updatable(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("check_trial_is_updatable", *args, **kwargs)
