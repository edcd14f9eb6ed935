"""Measured `auto`: the probe times candidates on throwaway copies, chooses, and caches."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from engine_helpers import TinyNet

from hw3tui.engine.hardware import probe, probe_cache
from hw3tui.engine.hardware.probe import Decision, Setting, StepTimer, Tune, Workload, settle
from hw3tui.engine.hardware.runtime import Runtime, choose_runtime
from hw3tui.preset.models import Runtime as RuntimeSpec

AUTO = RuntimeSpec(device="cpu")
LONG = Workload("tinynet", 16, 3, {8: 8 * 400})
"""400 steps: long enough for the probe's 5 % (4 candidates x 2 steps = 8 steps)."""


@pytest.fixture(autouse=True)
def bf16_cpu(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test sees four candidates, whatever CPU runs it; one thread and two timed rounds keep
    the real steps quick on a busy machine."""
    monkeypatch.setattr(probe, "_cpu_has_bf16", lambda: True)
    monkeypatch.setattr(probe, "MAX_ROUNDS", 2)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def table(threads: int = 2) -> Runtime:
    return Runtime(torch.device("cpu"), "fp32", False, False, threads, 0)


def sgd(module: torch.nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(module.parameters(), lr=0.1, momentum=0.9)


UNIT = 0.1
"""Seconds of a fake step at the relative time 1.0."""


class FakeTimer:
    """Runs the step (so the copies really train) and says it took `seconds[label]` units."""

    def __init__(self, seconds: dict[str, float], per_size: dict[int, float] | None = None) -> None:
        self.seconds, self.per_size = seconds, per_size or {}
        self.calls: list[tuple[str, int]] = []

    def __call__(self, setting: Setting, size: int, step: Callable[[], None]) -> float:
        step()
        self.calls.append((setting.label, size))
        return self.seconds.get(setting.label, 1.0) * self.per_size.get(size, 1.0) * UNIT


def never(setting: Setting, size: int, step: Callable[[], None]) -> float:
    raise AssertionError("the probe measured")


BF16_CL_FAST = {"bf16 channels_last": 0.5}


class Noisy(TinyNet):
    """Draws from every global random stream in training, as dropout or an odd model would."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            random.random()
            np.random.rand()
        return torch.nn.functional.dropout(super().forward(x), 0.1, self.training)


def test_probe_leaves_weights_optimizer_state_and_random_streams_bit_identical() -> None:
    module = Noisy()
    optimizer = sgd(module)
    torch.nn.functional.cross_entropy(
        module(torch.randn(4, 3, 16, 16)), torch.arange(4) % 3
    ).backward()
    optimizer.step()  # momentum buffers exist
    weights = {k: v.clone() for k, v in module.state_dict().items()}
    momenta = [optimizer.state[p]["momentum_buffer"].clone() for p in module.parameters()]
    torch.manual_seed(7)
    np.random.seed(7)
    random.seed(7)
    before = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
    timer = FakeTimer(BF16_CL_FAST)

    _, decision = settle(table(), AUTO, module, LONG, sgd, timer=timer)

    assert decision.how == "measured" and len(timer.calls) >= 8  # the copies trained
    assert torch.equal(torch.get_rng_state(), before[0])
    assert np.array_equal(np.random.get_state()[1], before[1])
    assert random.getstate() == before[2]
    for key, value in module.state_dict().items():
        assert torch.equal(value, weights[key]), key  # BatchNorm running stats included
    assert all(p.grad is not None for p in module.parameters())  # not replaced either
    after = [optimizer.state[p]["momentum_buffer"] for p in module.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(after, momenta, strict=True))
    assert next(module.parameters()).is_contiguous()  # the run's model keeps its layout


def test_the_fastest_setting_is_chosen_and_reported() -> None:
    runtime, decision = settle(table(), AUTO, TinyNet(), LONG, sgd, timer=FakeTimer(BF16_CL_FAST))
    assert (runtime.precision, runtime.channels_last) == ("bf16", True)
    assert decision.rates["bf16 channels_last"][8] == pytest.approx(160.0)
    assert decision.rates["fp32 NCHW"][8] == pytest.approx(80.0)
    auto = runtime.as_json()["auto"]
    assert isinstance(auto, dict) and auto["how"] == "measured"
    assert auto["rates"]["bf16 channels_last"] == {"8": pytest.approx(160.0)}


def test_a_win_within_the_noise_margin_keeps_the_simpler_setting() -> None:
    close = {
        "fp32 NCHW": 1.0,
        "fp32 channels_last": 0.97,
        "bf16 NCHW": 1.2,
        "bf16 channels_last": 0.98,
    }
    runtime, _ = settle(table(), AUTO, TinyNet(), LONG, sgd, timer=FakeTimer(close))
    assert (runtime.precision, runtime.channels_last) == ("fp32", False)
    clear = {**close, "fp32 channels_last": 0.9}
    runtime, _ = settle(table(threads=1), AUTO, TinyNet(), LONG, sgd, timer=FakeTimer(clear))
    assert (runtime.precision, runtime.channels_last) == ("fp32", True)


def test_a_second_run_uses_the_cached_decision_from_the_user_cache_folder(
    isolated: Path,
) -> None:
    settle(table(), AUTO, TinyNet(), LONG, sgd, timer=FakeTimer(BF16_CL_FAST))
    files = list((isolated.parent / "home" / ".cache" / "hw3tui" / "runtime-probe").glob("*.json"))
    assert len(files) == 1
    assert json.loads(files[0].read_text())["rates"]["bf16 channels_last"] == {"8": 160.0}

    runtime, decision = settle(table(), AUTO, TinyNet(), LONG, sgd, timer=never)
    assert decision.how == "cached" and (runtime.precision, runtime.channels_last) == ("bf16", True)
    assert decision.rates["bf16 channels_last"][8] == pytest.approx(160.0)


@pytest.mark.parametrize(
    "change",
    ["torch version", "threads", "image size", "batch size", "backbone", "machine", "candidates"],
)
def test_the_cache_misses_when_anything_it_depends_on_changes(
    change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settle(table(), AUTO, TinyNet(), LONG, sgd, timer=FakeTimer(BF16_CL_FAST))
    runtime, spec, workload = table(), AUTO, LONG
    if change == "torch version":
        monkeypatch.setattr(torch, "__version__", "9.9.9")
    elif change == "threads":
        runtime = table(threads=1)
    elif change == "image size":
        workload = Workload("tinynet", 24, 3, LONG.images_at)
    elif change == "batch size":
        workload = Workload("tinynet", 16, 3, {16: 16 * 400})
    elif change == "backbone":
        workload = Workload("othernet", 16, 3, LONG.images_at)
    elif change == "machine":
        monkeypatch.setattr(probe_cache, "cpu_model", lambda: "Other CPU")
        monkeypatch.setattr(probe_cache, "cpu_flags", lambda: frozenset({"sse2"}))
    else:
        spec = RuntimeSpec(device="cpu", precision="fp32")
    timer = FakeTimer({})
    _, decision = settle(runtime, spec, TinyNet(), workload, sgd, timer=timer)
    assert decision.how == "measured" and timer.calls


def test_an_unreadable_or_mismatched_cache_file_is_a_miss() -> None:
    settle(table(), AUTO, TinyNet(), LONG, sgd, timer=FakeTimer(BF16_CL_FAST))
    (path,) = probe_cache.cache_dir().glob("*.json")
    path.write_text("{not json")
    _, decision = settle(table(), AUTO, TinyNet(), LONG, sgd, timer=FakeTimer({}))
    assert decision.how == "measured" and decision.setting == Setting("fp32", False)
    saved = json.loads(path.read_text())
    del saved["rates"]["bf16 NCHW"]  # a candidate without a rate
    path.write_text(json.dumps(saved))
    _, decision = settle(table(), AUTO, TinyNet(), LONG, sgd, timer=FakeTimer({}))
    assert decision.how == "measured"


@pytest.mark.parametrize(
    ("precision", "channels_last"), [("bf16", True), ("fp32", False), ("fp32", True)]
)
def test_a_forced_setting_is_never_measured(precision: str, channels_last: bool) -> None:
    spec = RuntimeSpec(device="cpu", precision=precision, channels_last=channels_last)
    forced = Runtime(torch.device("cpu"), precision, channels_last, False, 2, 0)  # type: ignore[arg-type]
    runtime, decision = settle(forced, spec, TinyNet(), LONG, sgd, timer=never)
    assert decision.how == "forced"
    assert (runtime.precision, runtime.channels_last) == (precision, channels_last)


def test_one_setting_forced_measures_only_the_other() -> None:
    spec = RuntimeSpec(device="cpu", precision="fp32")
    timer = FakeTimer({"fp32 channels_last": 0.5})
    runtime, _ = settle(table(), spec, TinyNet(), LONG, sgd, timer=timer)
    assert {label for label, _ in timer.calls} == {"fp32 NCHW", "fp32 channels_last"}
    assert (runtime.precision, runtime.channels_last) == ("fp32", True)


def test_a_short_run_uses_the_table_or_the_cached_decision() -> None:
    short = Workload("tinynet", 16, 3, {8: 8 * 100})  # 100 steps: 5 % is 5 < 8 probe steps
    runtime, decision = settle(table(), AUTO, TinyNet(), short, sgd, timer=never)
    assert decision.how == "table" and "too short" in decision.why
    assert (runtime.precision, runtime.channels_last) == ("fp32", False)

    settle(table(), AUTO, TinyNet(), short, sgd, timer=FakeTimer(BF16_CL_FAST), tune=Tune())
    runtime, decision = settle(table(), AUTO, TinyNet(), short, sgd, timer=never)
    assert decision.how == "cached" and runtime.precision == "bf16"


def test_a_probe_over_its_time_budget_stops_and_keeps_the_table() -> None:
    slow = FakeTimer({"fp32 NCHW": 200.0})
    _, decision = settle(table(), AUTO, TinyNet(), LONG, sgd, timer=slow)
    assert decision.how == "table" and "too slow" in decision.why
    assert len(slow.calls) == 1  # the first warm-up step already blew 15 s
    assert not list(probe_cache.cache_dir().glob("*.json"))


def test_a_batch_size_schedule_is_measured_up_front_and_weighted_by_its_images() -> None:
    # bf16 channels_last wins at batch 64 but loses at 8; the run trains 9x more images at 8
    per_label = {"bf16 channels_last": 0.5}
    timer = FakeTimer(per_label)
    original = timer.__call__

    def by_size(setting: Setting, size: int, step: Callable[[], None]) -> float:
        seconds = original(setting, size, step)
        return (
            2.0 * UNIT * UNIT / seconds
            if size == 8 and setting.label == "bf16 channels_last"
            else seconds
        )

    schedule = Workload("tinynet", 16, 3, {8: 8 * 900, 64: 64 * 100})
    runtime, decision = settle(table(), AUTO, TinyNet(), schedule, sgd, timer=by_size)
    assert {size for _, size in timer.calls} == {8, 64}
    assert set(decision.rates["fp32 NCHW"]) == {8, 64}
    assert (runtime.precision, runtime.channels_last) == ("fp32", False)

    # the same sizes, mostly at 64: the cached rates, weighted for this run
    mostly_64 = Workload("tinynet", 16, 3, {8: 8 * 100, 64: 64 * 900})
    runtime, decision = settle(table(), AUTO, TinyNet(), mostly_64, sgd, timer=never)
    assert decision.how == "cached" and (runtime.precision, runtime.channels_last) == ("bf16", True)


def test_several_processes_do_not_measure() -> None:
    _, decision = settle(table(), AUTO, TinyNet(), LONG, sgd, timer=never, may_measure=False)
    assert decision.how == "table" and "processes" in decision.why


def test_the_real_clock_times_real_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default timer runs the step and reports a positive duration (no value asserted)."""
    timer: StepTimer = probe._wall_timer(torch.device("cpu"))
    ran: list[int] = []
    assert timer(Setting("fp32", False), 8, lambda: ran.append(1)) >= 0 and ran == [1]


def test_batch_norm_statistics_stay_fp32_under_bf16_autocast() -> None:
    module = TinyNet().train()
    norm = module.features[1]
    assert isinstance(norm, torch.nn.BatchNorm2d)
    before = norm.running_mean.clone()  # type: ignore[union-attr]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = module(torch.randn(8, 3, 16, 16) + 3)
    assert logits.dtype == torch.bfloat16  # autocast was on
    assert norm.running_mean.dtype == torch.float32  # type: ignore[union-attr]
    assert norm.running_var.dtype == torch.float32  # type: ignore[union-attr]
    assert not torch.equal(norm.running_mean, before)  # type: ignore[arg-type]


def test_decision_json_round_trips_through_the_cache() -> None:
    decision = Decision(Setting("bf16", True), "measured", rates={"bf16 channels_last": {8: 12.5}})
    assert probe._rates_from_json(decision.as_json()["rates"]) == decision.rates
    assert probe._rates_from_json({"bf16 NCHW": {"eight": 1.0}}) is None


def test_a_resumed_run_keeps_what_auto_chose_when_it_started() -> None:
    recorded = {"precision": "bf16", "channels_last": True, "auto": {"how": "measured"}}
    pinned = probe.as_started(AUTO, recorded)
    assert (pinned.precision, pinned.channels_last) == ("bf16", True)
    resolved = choose_runtime(pinned, backbone="tinynet", image_size=16, cached=True, workers=0)
    runtime, decision = settle(resolved, pinned, TinyNet(), LONG, sgd, timer=never)
    assert decision.how == "forced" and (runtime.precision, runtime.channels_last) == ("bf16", True)
    forced = RuntimeSpec(device="cpu", precision="fp32")
    assert probe.as_started(forced, recorded).precision == "fp32"  # the preset's own word stands
    assert probe.as_started(AUTO, {"precision": "bf16", "channels_last": True}) == AUTO  # older run
    assert probe.as_started(AUTO, None) == AUTO


def test_the_time_budget_ends_the_probe_after_a_whole_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(probe, "MAX_ROUNDS", 5)
    second_steps = FakeTimer({}, per_size={8: 10.0})  # every step 1 s
    # 1 s a step, 4 a round: warm-up 4 s, rounds end at 8 and 12 s; a third would pass 15 s
    _, decision = settle(table(), AUTO, TinyNet(), LONG, sgd, timer=second_steps)
    assert decision.how == "measured"
    labels = [label for label, _ in second_steps.calls]
    assert len(labels) == 12 and all(labels.count(label) == 3 for label in set(labels))
