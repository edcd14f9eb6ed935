"""The worker's patience with its database, on a fake clock: waits, their cap, the limit, the
lines it says; then the same storage wrapped round a real study."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optuna
import pytest
from sqlalchemy.exc import OperationalError

from hw3tui.sweeps import patience as patience_module
from hw3tui.sweeps.patience import DatabaseAway, Patience, PatientStorage
from hw3tui.sweeps.storage import shown

WHERE = shown("postgresql://alice:s3cret@db.example:5432/sweeps")


class Clock:
    """A fake monotonic clock that `sleep` advances; it records each wait (naps joined)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.naps: list[float] = []

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.naps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def away() -> optuna.exceptions.StorageInternalError:
    """What Optuna 5.1's RDB storage raises while the server is stopped."""
    cause = OperationalError("SELECT 1", {}, Exception("connection refused\nIs the server up?"))
    try:
        raise optuna.exceptions.StorageInternalError("An exception is raised") from cause
    except optuna.exceptions.StorageInternalError as exc:
        return exc


def failing(times: int, result: Any = "ok") -> Callable[[], Any]:
    calls = [0]

    def call() -> Any:
        calls[0] += 1
        if calls[0] <= times:
            raise away()
        return result

    return call


def made(clock: Clock, said: list[str], **kwargs: Any) -> Patience:
    return Patience(WHERE, said.append, sleep=clock.sleep, clock=clock.clock, **kwargs)


def test_the_url_shown_has_no_password() -> None:
    assert WHERE == "postgresql://alice@db.example:5432/sweeps"


def test_waits_double_from_1_s_and_the_outage_is_said_once_and_its_end_once() -> None:
    clock, said = Clock(), []
    patience = made(clock, said)

    assert patience.call("get_all_trials", failing(4)) == "ok"

    assert clock.now - 1000.0 == 1 + 2 + 4 + 8
    assert said == [
        f"database {WHERE} unreachable (connection refused): waiting for it (up to 10 min); "
        "running trials keep training",
        f"database {WHERE} is back after 15 s",
    ]
    assert max(clock.naps) <= 1.0  # napped: Ctrl-C is heard within a second


def test_waits_stop_doubling_at_30_s() -> None:
    clock, said = Clock(), []
    waits: list[float] = []
    patience = made(clock, said)
    starts = [clock.now]

    def call() -> str:
        waits.append(clock.now - starts[-1])
        starts.append(clock.now)
        if len(waits) <= 8:
            raise away()
        return "ok"

    patience.call("ask", call)

    assert waits[1:] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_past_the_limit_the_worker_gives_up_naming_the_database() -> None:
    clock, said = Clock(), []
    patience = made(clock, said)

    with pytest.raises(DatabaseAway) as raised:
        patience.call("set_trial_intermediate_value", failing(10**6))

    assert clock.now - 1000.0 == patience_module.GIVE_UP_S == 600.0
    assert str(raised.value) == (
        f"database {WHERE} unreachable for 10 min: worker stopped (its trials keep running)"
    )
    assert not raised.value.interrupted
    assert "s3cret" not in str(raised.value) + "".join(said)


def test_the_limit_is_read_when_the_patience_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patience_module, "GIVE_UP_S", 3.0)
    clock, said = Clock(), []

    with pytest.raises(DatabaseAway, match="unreachable for 3 s"):
        made(clock, said).call("ask", failing(10**6))

    assert clock.now - 1000.0 == 3.0


def test_ctrl_c_ends_the_wait() -> None:
    clock, said = Clock(), []
    patience = made(clock, said, stop=lambda: clock.now > 1002.5)

    with pytest.raises(DatabaseAway) as raised:
        patience.call("ask", failing(10**6))

    assert raised.value.interrupted
    assert clock.now - 1000.0 == 3.0


def test_other_errors_are_not_retried() -> None:
    clock, said = Clock(), []

    def bad() -> None:
        raise optuna.exceptions.StorageInternalError("bad value")

    with pytest.raises(optuna.exceptions.StorageInternalError):
        made(clock, said).call("ask", bad)
    assert clock.naps == [] and said == []


def test_a_tell_whose_answer_was_lost_is_not_told_twice() -> None:
    clock, said = Clock(), []
    calls = [0]

    def tell() -> bool:
        calls[0] += 1
        if calls[0] == 1:
            raise away()  # committed, but the connection broke before the answer
        raise optuna.exceptions.UpdateFinishedTrialError("already finished")

    assert made(clock, said).call("set_trial_state_values", tell) is True
    # a finished trial reported to again is still an error
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        made(clock, said).call("set_trial_intermediate_value", tell)


class Flaky(optuna.storages.InMemoryStorage):
    """An in-memory storage whose every call fails while `down` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.down_for = 0

    def __getattribute__(self, name: str) -> Any:
        attr = super().__getattribute__(name)
        if not callable(attr) or name.startswith("_"):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.down_for > 0:
                self.down_for -= 1
                raise away()
            return attr(*args, **kwargs)

        return call


def test_a_study_on_the_patient_storage_loses_no_report_or_result() -> None:
    clock, said = Clock(), []
    inner = Flaky()
    study = optuna.create_study(storage=PatientStorage(inner, made(clock, said)))
    trial = study.ask()

    inner.down_for = 3
    trial.report(0.5, 0)
    inner.down_for = 2
    study.tell(trial, 0.75)

    (frozen,) = inner.get_all_trials(study._study_id)
    assert frozen.intermediate_values == {0: 0.5}
    assert frozen.value == 0.75
    assert len([line for line in said if "unreachable" in line]) == 2
