"""The loss range an lr range test's curve is drawn in (the PNG figure and the TUI's plot alike).

No matplotlib here: the TUI imports it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def loss_window(smoothed: Sequence[float]) -> tuple[float, float] | None:
    """(bottom, top) of the y axis for a smoothed loss curve; None when no value is finite.

    The diverging tail (up to 4x the minimum) would squash the part that matters: the top is 1.3x
    the first loss (or 1.5x the minimum when that is higher), the bottom a tenth below the minimum.
    """
    finite = [v for v in smoothed if math.isfinite(v)]
    if not finite:
        return None
    low, top = min(finite), max(finite[0] * 1.3, min(finite) * 1.5)
    return low - 0.1 * (top - low) - 1e-9, top + 1e-9
