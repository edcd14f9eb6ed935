"""The lr range test's ramp, checked alike by `hw3tui lr-find` and the TUI's lr finder dialog."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from hw3tui.cli import cli
from hw3tui.results.lr_ramp import MAX_STEPS, MIN_STEPS, Refused, ramp_problem
from tests.tiny import TINY


@pytest.mark.parametrize(
    ("start", "end", "steps", "refused"),
    [
        (1e-7, 10.0, 100, None),
        (1e-7, 10.0, MIN_STEPS, None),
        (1e-7, 10.0, MAX_STEPS, None),
        (1.0, 1.0, 100, Refused(0, "--start: 1 is not below --end 1")),
        (0.0, 1.0, 100, Refused(0, "--start: 0 is not a finite number above 0")),
        (1e-7, float("nan"), 100, Refused(1, "--end: nan is not a finite number above 0")),
        (1e-7, float("inf"), 100, Refused(1, "--end: inf is not a finite number above 0")),
        (1e-7, 10.0, 9, Refused(2, "--steps: 9 is not a whole number from 10 to 10000")),
    ],
)
def test_a_ramp_is_refused_naming_its_field(
    start: float, end: float, steps: int, refused: Refused | None
) -> None:
    assert ramp_problem(start, end, steps) == refused


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--start", "1", "--end", "0.1"], "--start: 1 is not below --end 0.1"),
        (["--end", "nan"], "--end: nan is not a finite number above 0"),
    ],
)
def test_the_command_refuses_a_bad_ramp_in_one_line(flags: list[str], said: str) -> None:
    result = CliRunner().invoke(cli, ["lr-find", str(TINY), *flags])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"error: {said}"]
