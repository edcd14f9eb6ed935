"""Driving the app in tests: wait for what a user would wait for, never a fixed sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

from textual.pilot import Pilot


async def wait_for(
    pilot: Pilot[Any], condition: Callable[[], object], timeout: float = 10.0, what: str = ""
) -> None:
    """Let the app run until `condition()` is true (workers, timers and messages included)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or condition}")
        await pilot.pause(0.05)


def run(scenario: Coroutine[Any, Any, None]) -> None:
    """Run an async Pilot scenario under plain pytest."""
    asyncio.run(scenario)


def text_of(widget: Any) -> str:
    """What a Static/Label shows, as plain text."""
    return str(widget.render())
