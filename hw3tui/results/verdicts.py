"""Is a difference real? One verdict for every face: leaderboards, a sweep's final table, the
TUI, `hw3tui compare`, ablations and the report.

A configuration runs with seeds seed, seed+1, ... (a sweep's `repeat: N`). Two configurations
are compared on their mean best `checkpoint.monitor` value: the difference (other minus
reference) with its 95 % interval from Student's t, through scipy.stats:

- paired by seed (`ttest_rel`) when both sides ran the same seeds, two or more of them: seed k
  draws the same initial head, data order and augmentation on both sides, so the pairs cancel
  much of the seed noise and the interval is narrower than an unpaired one;
- otherwise Welch's unequal-variance t (`ttest_ind(equal_var=False)`) on the two samples.

Assumptions, said in the README: the seeds are independent draws, and the differences (paired) or
the values (Welch) are roughly normal; with 3 seeds the interval is wide, and that is the point.

The word: `better` or `worse` when the interval excludes 0 (in the monitor's direction: a lower
`val_loss` is better), `within noise` when it holds 0, and `one seed` when either side has a
single value: no noise estimate, so never a verdict. The best configuration's own row says
`best`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Word = Literal["best", "better", "worse", "within noise", "one seed"]

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Spread:
    """A configuration's values over its seeds: n, mean, sample std (None below 2), min, max."""

    n: int
    mean: float | None
    std: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Verdict:
    """`other` against `reference`: the difference of means, its interval, and the word."""

    delta: float | None
    """mean(other) - mean(reference); None when a side has no value."""
    low: float | None
    high: float | None
    """The 95 % interval of `delta`; None with one seed on a side."""
    n: int
    """Pairs compared (paired), or the smaller side's size (Welch)."""
    word: Word
    method: str
    """`paired t, n=3`, `Welch t, n=3 and 4`, or `one seed`: how the interval was made."""


def finite(values: Iterable[float | None]) -> list[float]:
    """The values a verdict can use: a NaN, an Infinity or a missing value is left out."""
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def spread(values: Iterable[float | None]) -> Spread:
    """n, mean, sample standard deviation (ddof 1), min and max of the finite values."""
    kept = finite(values)
    if not kept:
        return Spread(0, None, None, None, None)
    mean = math.fsum(kept) / len(kept)
    std = None
    if len(kept) > 1:
        std = math.sqrt(math.fsum((v - mean) ** 2 for v in kept) / (len(kept) - 1))
    return Spread(len(kept), mean, std, min(kept), max(kept))


def verdict(
    reference: Mapping[int, float | None],
    other: Mapping[int, float | None],
    *,
    higher_is_better: bool = True,
) -> Verdict:
    """`other` against `reference`, each a mapping of seed to its best monitored value."""
    ref = {seed: v for seed, v in reference.items() if v is not None and math.isfinite(v)}
    oth = {seed: v for seed, v in other.items() if v is not None and math.isfinite(v)}
    if not ref or not oth:
        return Verdict(None, None, None, 0, "one seed", "one seed")
    delta = math.fsum(oth.values()) / len(oth) - math.fsum(ref.values()) / len(ref)
    if len(ref) < 2 or len(oth) < 2:
        return Verdict(delta, None, None, min(len(ref), len(oth)), "one seed", "one seed")
    low, high, n, method = _interval(ref, oth)
    return Verdict(delta, low, high, n, _word(low, high, higher_is_better), method)


def _interval(ref: Mapping[int, float], oth: Mapping[int, float]) -> tuple[float, float, int, str]:
    from scipy import stats  # 0.3 s: only where a verdict is made

    if set(ref) == set(oth):
        seeds = sorted(ref)
        a, b = [oth[s] for s in seeds], [ref[s] for s in seeds]
        differences = [x - y for x, y in zip(a, b, strict=True)]
        if _constant(differences):  # scipy's interval is NaN when every pair differs alike
            return differences[0], differences[0], len(seeds), f"paired t, n={len(seeds)}"
        ci = stats.ttest_rel(a, b).confidence_interval(CONFIDENCE)
        return float(ci.low), float(ci.high), len(seeds), f"paired t, n={len(seeds)}"
    a, b = list(oth.values()), list(ref.values())
    method = f"Welch t, n={len(a)} and {len(b)}"
    if _constant(a) and _constant(b):
        return a[0] - b[0], a[0] - b[0], min(len(a), len(b)), method
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(CONFIDENCE)
    return float(ci.low), float(ci.high), min(len(a), len(b)), method


def _constant(values: list[float]) -> bool:
    return all(v == values[0] for v in values)


def _word(low: float, high: float, higher_is_better: bool) -> Word:
    if low <= 0 <= high:
        return "within noise"
    up = low > 0
    return "better" if up == higher_is_better else "worse"


def higher_is_better(monitor: str) -> bool:
    """Whether a larger value of `checkpoint.monitor` is the better one (val_acc; not val_loss)."""
    return monitor != "val_loss"
