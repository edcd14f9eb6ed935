"""The one verdict: its interval is scipy's paired (or Welch) t, and `one seed` never decides."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from hw3tui.results.verdicts import spread, verdict

REFERENCE = {0: 0.71, 1: 0.64, 2: 0.69, 3: 0.73}
OTHER = {0: 0.80, 1: 0.70, 2: 0.79, 3: 0.81}


def test_the_interval_is_scipys_paired_t_on_the_same_seeds() -> None:
    got = verdict(REFERENCE, OTHER)
    seeds = sorted(REFERENCE)
    expected = stats.ttest_rel([OTHER[s] for s in seeds], [REFERENCE[s] for s in seeds])
    ci = expected.confidence_interval(0.95)
    assert got.low == pytest.approx(ci.low) and got.high == pytest.approx(ci.high)
    assert got.delta == pytest.approx(0.0825)
    assert (got.word, got.n, got.method) == ("better", 4, "paired t, n=4")


def test_other_seeds_are_compared_with_welchs_t() -> None:
    other = {10: 0.80, 11: 0.70, 12: 0.79}
    got = verdict(REFERENCE, other)
    ci = stats.ttest_ind(list(other.values()), list(REFERENCE.values()), equal_var=False)
    interval = ci.confidence_interval(0.95)
    assert (got.low, got.high) == (pytest.approx(interval.low), pytest.approx(interval.high))
    assert got.method == "Welch t, n=3 and 4"


def test_an_interval_holding_zero_is_within_noise_and_direction_follows_the_monitor() -> None:
    noisy = {0: 0.72, 1: 0.60, 2: 0.75, 3: 0.70}
    assert verdict(REFERENCE, noisy).word == "within noise"
    assert verdict(REFERENCE, OTHER, higher_is_better=False).word == "worse"
    assert verdict(OTHER, REFERENCE).word == "worse"


@pytest.mark.parametrize(
    ("reference", "other"),
    [({0: 0.7}, {0: 0.9}), ({0: 0.7, 1: 0.8}, {0: 0.9}), ({0: 0.7}, {0: 0.9, 1: 0.95})],
)
def test_one_seed_on_either_side_is_never_a_verdict(
    reference: dict[int, float], other: dict[int, float]
) -> None:
    got = verdict(reference, other)
    assert (got.word, got.low, got.high) == ("one seed", None, None)
    assert got.delta is not None


def test_non_finite_values_are_left_out() -> None:
    got = verdict({0: 0.7, 1: math.nan, 2: 0.8}, {0: 0.9, 1: math.inf, 2: 0.95})
    assert got.method == "paired t, n=2"
    assert spread([0.5, None, math.nan, 0.7]).n == 2


def test_identical_differences_give_a_zero_width_interval_not_nan() -> None:
    got = verdict({0: 0.5, 1: 0.6}, {0: 0.6, 1: 0.7})
    assert got.low == pytest.approx(0.1) and got.high == pytest.approx(0.1)
    assert got.word == "better"


def test_spread_is_the_sample_standard_deviation() -> None:
    s = spread([0.27, 0.44, 0.58])
    assert (s.n, s.low, s.high) == (3, 0.27, 0.58)
    assert s.mean == pytest.approx(0.43)
    assert s.std == pytest.approx(stats.tstd([0.27, 0.44, 0.58]))
