"""Findings about one run, from its events and status.json: which epoch is kept, overfitting,
and the schedules as they were used.

The overfitting rule (the README says it too): the per-epoch series are smoothed by a centred
moving median of 3 epochs (the first and last epoch kept as they are), so one noisy epoch of
small batches neither hides a trend nor makes one. Overfitting starts

- by loss: when the smoothed val loss stays above its lowest so far for `PATIENCE` epochs in a
  row while the smoothed train loss falls over those epochs; it is said from the epoch after the
  lowest val loss (the raw series' lowest before the stretch), up to the last epoch still above;
- by accuracy: when the smoothed train acc exceeds the smoothed val acc by more than `GAP` for
  `PATIENCE` epochs in a row, from the first of them.

The earlier of the two is said (loss first on a tie). Fewer than `MIN_EPOCHS` finished epochs:
too few to tell, and the finding says so instead of "none".
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hw3tui.results.comparison import RunSide
from hw3tui.results.findings import _sentences as say
from hw3tui.results.findings._model import Finding, Number, difference, mean
from hw3tui.runs.history import EpochResult
from hw3tui.runs.numbers import as_float, as_int

PATIENCE = 3
"""Epochs in a row the signal must hold."""
GAP = 0.10
"""Train acc minus val acc beyond which the accuracy rule counts an epoch."""
MIN_EPOCHS = 2 * PATIENCE
"""Finished epochs needed to tell (an epoch before, the stretch, and room for the smoothing)."""
AROUND = 3
"""Epochs on each side of a schedule change whose val acc is averaged."""
RAMP = 4
"""More changes than this, on at least half the epochs: one ramp, not a finding per epoch."""
SCHEDULES = ("lr", "batch_size", "weight_decay")


def run_findings(side: RunSide) -> tuple[list[Finding], Number | None]:
    """The run's findings, and what keeping the best epoch gained (for the mean over seeds)."""
    found: list[Finding] = []
    kept, gain = _kept(side)
    if kept is not None:
        found.append(kept)
        found += _ema(side)
    found += _overfitting(side)
    found += _schedules(side)
    return found, gain


def _event(side: RunSide, kind: str, epoch: int | None, field: str) -> dict[str, Any]:
    source: dict[str, Any] = {"run": side.name, "event": kind}
    if epoch is not None:
        source["epoch"] = epoch
    source["field"] = field
    return source


def _epoch_value(side: RunSide, result: EpochResult, field: str) -> Number | None:
    value = result.metric(field)
    return None if value is None else Number(value, _event(side, "epoch_end", result.epoch, field))


def _epoch_number(side: RunSide, epoch: int, kind: str = "epoch_end") -> Number:
    return Number(epoch, _event(side, kind, epoch, "epoch"))


# ---- which epoch is kept ------------------------------------------------------------------


def _kept(side: RunSide) -> tuple[Finding | None, Number | None]:
    history = side.history
    if not history.epochs:
        return None, None
    best = _best_val_acc(side)
    if best is None:
        return None, None
    value, epoch = best
    last_result = history.epochs[-1]
    last = _epoch_value(side, last_result, "val_acc")
    planned = _planned(side)
    if last is None or planned is None:
        return None, None
    section = "Which epoch is kept"
    if int(epoch.value) == last_result.epoch:
        sentence = say.kept_last(value.value, int(epoch.value), int(planned.value))
        numbers = {"best": value, "epoch": epoch, "planned": planned}
        gain = difference(value, last)
        return Finding(section, "kept", side.name, sentence, numbers), gain
    gain = difference(value, last)
    last_epoch = _epoch_number(side, last_result.epoch)
    sentence = say.kept(
        value.value,
        int(epoch.value),
        int(planned.value),
        last.value,
        last_result.epoch,
        gain.value,
    )
    numbers = {
        "best": value,
        "epoch": epoch,
        "planned": planned,
        "last": last,
        "last_epoch": last_epoch,
        "gain": gain,
    }
    return Finding(section, "kept", side.name, sentence, numbers), gain


def _best_val_acc(side: RunSide) -> tuple[Number, Number] | None:
    """The kept checkpoint's val acc and epoch: status.json's best when it keeps val_acc, else
    the val acc of the epoch it kept, else the best epoch of the events."""
    best = side.summary.best if side.summary is not None else None
    if best is not None:
        epoch, value = as_int(best.get("epoch")), as_float(best.get("value"))
        if epoch is not None and epoch in side.history.results:
            at = Number(epoch, {"run": side.name, "file": "status.json", "field": "best.epoch"})
            if best.get("metric") == "val_acc" and value is not None:
                source = {"run": side.name, "file": "status.json", "field": "best.value"}
                return Number(value, source), at
            kept = _epoch_value(side, side.history.results[epoch], "val_acc")
            if kept is not None:
                return kept, at
    found = side.history.best_of("val_acc")
    if found is None:
        return None
    result = side.history.results[found[1]]
    kept = _epoch_value(side, result, "val_acc")
    return None if kept is None else (kept, _epoch_number(side, result.epoch))


def _ema(side: RunSide) -> list[Finding]:
    """With `ema` on, val acc (and best/) is the average's; `val_acc_raw` beside it is the raw
    weights'. Said at the kept epoch: the average lagging its weights is the trap of an ema.decay
    whose horizon (about 1 / (1 - decay) steps) is longer than the run."""
    best = _best_val_acc(side)
    if best is None:
        return []
    epoch = int(best[1].value)
    result = side.history.results.get(epoch)
    if result is None:
        return []
    averaged = _epoch_value(side, result, "val_acc")
    raw = _epoch_value(side, result, "val_acc_raw")
    if averaged is None or raw is None:
        return []  # no ema in this run
    gap = difference(averaged, raw)
    at = _epoch_number(side, epoch)
    numbers = {"epoch": at, "averaged": averaged, "raw": raw, "difference": gap}
    if gap.value < 0:
        sentence = say.ema_trails(epoch, averaged.value, raw.value, -gap.value)
    else:
        sentence = say.ema_helps(epoch, averaged.value, raw.value, gap.value)
    return [Finding("Which epoch is kept", "ema", side.name, sentence, numbers)]


def _planned(side: RunSide) -> Number | None:
    if side.summary is not None and side.summary.epochs:
        return Number(
            side.summary.epochs, {"run": side.name, "file": "status.json", "field": "epochs"}
        )
    if side.history.epochs_planned:
        return Number(side.history.epochs_planned, _event(side, "run_start", None, "epochs"))
    return None


# ---- overfitting --------------------------------------------------------------------------


def smoothed(values: Sequence[float]) -> list[float]:
    """Centred moving median of 3; the first and last values as they are."""
    if len(values) < 3:
        return list(values)
    middle = [statistics.median(values[i - 1 : i + 2]) for i in range(1, len(values) - 1)]
    return [values[0], *middle, values[-1]]


@dataclass(frozen=True)
class Stretch:
    start: int
    """Index of the first epoch said to overfit."""
    end: int
    """Index of the last epoch of the stretch."""
    before: int
    """Index of the epoch the before values come from."""


def loss_stretch(train: Sequence[float], val: Sequence[float]) -> Stretch | None:
    """The first overfitting stretch by the loss rule (indices into the series)."""
    sv, st = smoothed(val), smoothed(train)
    for e in range(1, len(sv) - PATIENCE + 1):
        lowest = min(sv[:e])
        window = range(e, e + PATIENCE)
        if all(sv[j] > lowest for j in window) and st[e + PATIENCE - 1] < st[e - 1]:
            end = e + PATIENCE - 1
            while end + 1 < len(sv) and sv[end + 1] > lowest:
                end += 1
            best = min(range(e), key=lambda i: (val[i], i))
            return Stretch(best + 1, end, best)
    return None


def gap_stretch(train: Sequence[float], val: Sequence[float]) -> Stretch | None:
    """The first overfitting stretch by the accuracy-gap rule."""
    gaps = [t - v for t, v in zip(smoothed(train), smoothed(val), strict=True)]
    for e in range(len(gaps) - PATIENCE + 1):
        if all(gaps[j] > GAP for j in range(e, e + PATIENCE)):
            end = e + PATIENCE - 1
            while end + 1 < len(gaps) and gaps[end + 1] > GAP:
                end += 1
            return Stretch(e, end, max(e - 1, 0))
    return None


@dataclass(frozen=True)
class _Kept:
    """A run's epochs that have all four metrics, and their numbers with sources."""

    side: RunSide
    epochs: list[EpochResult]

    def series(self, field: str) -> list[float]:
        return [float(r.metric(field) or 0.0) for r in self.epochs]

    def at(self, index: int, field: str) -> Number:
        found = _epoch_value(self.side, self.epochs[index], field)
        assert found is not None  # every epoch kept has all four metrics
        return found

    def epoch(self, index: int) -> Number:
        return _epoch_number(self.side, self.epochs[index].epoch)


def _overfitting(side: RunSide) -> list[Finding]:
    epochs = [
        r
        for r in side.history.epochs
        if None not in (r.train_loss, r.val_loss, r.train_acc, r.val_acc)
    ]
    count = Number(len(epochs), _event(side, "epoch_end", None, "count"))
    if len(epochs) < MIN_EPOCHS:
        needed = Number(MIN_EPOCHS, {"rule": "MIN_EPOCHS"})
        sentence = say.too_few_epochs(len(epochs), MIN_EPOCHS)
        numbers = {"epochs": count, "needed": needed}
        return [Finding(_OVERFITTING, "too few epochs", side.name, sentence, numbers)]
    kept = _Kept(side, epochs)
    by_loss = loss_stretch(kept.series("train_loss"), kept.series("val_loss"))
    by_gap = gap_stretch(kept.series("train_acc"), kept.series("val_acc"))
    if by_loss is not None and (by_gap is None or by_loss.start <= by_gap.start):
        return [_by_loss(kept, by_loss)]
    if by_gap is not None:
        return [_by_gap(kept, by_gap)]
    return [_no_overfitting(kept, count)]


_OVERFITTING = "Overfitting"


def _by_loss(kept: _Kept, s: Stretch) -> Finding:
    numbers = {
        "start": kept.epoch(s.start),
        "best": kept.epoch(s.before),
        "end": kept.epoch(s.end),
        "val_before": kept.at(s.before, "val_loss"),
        "val_after": kept.at(s.end, "val_loss"),
        "train_before": kept.at(s.before, "train_loss"),
        "train_after": kept.at(s.end, "train_loss"),
    }
    sentence = say.overfitting_loss(
        *(int(numbers[k].value) for k in ("start", "best", "end")),
        *(numbers[k].value for k in ("val_before", "val_after", "train_before", "train_after")),
    )
    rule = {"rule": "val_loss"}
    return Finding(_OVERFITTING, "overfitting", kept.side.name, sentence, numbers, rule)


def _by_gap(kept: _Kept, s: Stretch) -> Finding:
    train_after, val_after = kept.at(s.end, "train_acc"), kept.at(s.end, "val_acc")
    numbers = {
        "start": kept.epoch(s.start),
        "end": kept.epoch(s.end),
        "threshold": Number(GAP, {"rule": "GAP"}),
        "patience": Number(PATIENCE, {"rule": "PATIENCE"}),
        "before_epoch": kept.epoch(s.before),
        "gap_before": difference(kept.at(s.before, "train_acc"), kept.at(s.before, "val_acc")),
        "gap_after": difference(train_after, val_after),
        "train_acc": train_after,
        "val_acc": val_after,
    }
    sentence = say.overfitting_gap(
        int(numbers["start"].value),
        int(numbers["end"].value),
        GAP,
        PATIENCE,
        int(numbers["before_epoch"].value),
        numbers["gap_before"].value,
        numbers["gap_after"].value,
        train_after.value,
        val_after.value,
    )
    rule = {"rule": "acc_gap"}
    return Finding(_OVERFITTING, "overfitting", kept.side.name, sentence, numbers, rule)


def _no_overfitting(kept: _Kept, count: Number) -> Finding:
    val = kept.series("val_loss")
    lowest = min(range(len(val)), key=lambda i: (val[i], i))
    numbers = {
        "epochs": count,
        "lowest": kept.at(lowest, "val_loss"),
        "lowest_epoch": kept.epoch(lowest),
        "patience": Number(PATIENCE, {"rule": "PATIENCE"}),
    }
    sentence = say.no_overfitting(len(val), val[lowest], kept.epochs[lowest].epoch, PATIENCE)
    return Finding(_OVERFITTING, "no overfitting", kept.side.name, sentence, numbers)


# ---- schedules ----------------------------------------------------------------------------


def _schedules(side: RunSide) -> list[Finding]:
    found: list[Finding] = []
    for name in SCHEDULES:
        used = [
            (epoch, value)
            for epoch in sorted(side.history.starts)
            if (value := as_float(side.history.starts[epoch].get(name))) is not None
        ]
        changes = [i for i in range(1, len(used)) if used[i][1] != used[i - 1][1]]
        if not changes:
            continue
        if len(changes) > RAMP and 2 * len(changes) >= len(used) - 1:
            ramp = _ramp(side, name, used, changes)
            found += [ramp] if ramp is not None else []
            continue
        bounds = [0, *changes, len(used)]
        for k, i in enumerate(changes):
            before_epochs = [e for e, _ in used[max(bounds[k], i - AROUND) : i]]
            after_epochs = [e for e, _ in used[i : min(bounds[k + 2], i + AROUND)]]
            found.append(
                _change(side, name, used[i - 1][0], used[i][0], before_epochs, after_epochs)
            )
    return found


def _start_value(side: RunSide, name: str, epoch: int) -> Number:
    value = as_float(side.history.starts[epoch].get(name))
    assert value is not None  # only epochs with a value are used
    return Number(value, _event(side, "epoch_start", epoch, name))


def _val_acc_mean(side: RunSide, epochs: Sequence[int]) -> Number | None:
    values = [
        n
        for e in epochs
        if e in side.history.results
        and (n := _epoch_value(side, side.history.results[e], "val_acc")) is not None
    ]
    return mean(values) if values else None


def _change(
    side: RunSide, name: str, previous: int, epoch: int, before: list[int], after: list[int]
) -> Finding:
    numbers = {
        "epoch": _epoch_number(side, epoch, "epoch_start"),
        "before": _start_value(side, name, previous),
        "after": _start_value(side, name, epoch),
    }
    facts = {"schedule": name}
    acc_before, acc_after = _val_acc_mean(side, before), _val_acc_mean(side, after)
    values = (numbers["before"].value, numbers["after"].value)
    if acc_before is None or acc_after is None:
        sentence = say.schedule_change_unseen(name, epoch, *values)
    else:
        numbers |= {"acc_before": acc_before, "acc_after": acc_after}
        sentence = say.schedule_change(name, epoch, *values, acc_before.value, acc_after.value)
    return Finding("Schedules", "schedule change", side.name, sentence, numbers, facts)


def _ramp(
    side: RunSide, name: str, used: list[tuple[int, float]], changes: list[int]
) -> Finding | None:
    first, last = used[0][0], used[-1][0]
    acc_start = _val_acc_mean(side, [first])
    acc_end = _val_acc_mean(side, [last])
    if acc_start is None or acc_end is None:
        return None
    steps = [_start_value(side, name, used[i][0]) for i in changes]
    numbers = {
        "first": _epoch_number(side, first, "epoch_start"),
        "last": _epoch_number(side, last, "epoch_start"),
        "start": _start_value(side, name, first),
        "end": _start_value(side, name, last),
        "changes": Number(len(changes), derived="count", operands=tuple(steps)),
        "acc_start": acc_start,
        "acc_end": acc_end,
    }
    sentence = say.schedule_ramp(
        name,
        first,
        last,
        numbers["start"].value,
        numbers["end"].value,
        len(changes),
        acc_start.value,
        acc_end.value,
    )
    return Finding("Schedules", "schedule ramp", side.name, sentence, numbers, {"schedule": name})
