"""Signal handlers for the length of a `with` block: the one place that sets and restores them
(the engine's stop and cancel handlers, the process group's calm SIGTERM, a sweep worker's flag).

    with handled(on_stop, signal.SIGINT, signal.SIGTERM):
        ...  # on_stop(signum, frame) runs on either signal; the old handlers are back afterwards
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

Handler = Callable[[int, FrameType | None], object]


def _always() -> bool:
    return True


@contextlib.contextmanager
def handled(
    handler: Handler, *signums: signal.Signals, restore: Callable[[], bool] = _always
) -> Iterator[None]:
    """`handler` for `signums` while the block runs, the previous handlers after it (unless
    `restore()` says no at the block's end). Off the main thread, where Python cannot set
    handlers (a test or a TUI worker calling in), nothing is set: the block simply runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in signums}
    try:
        yield
    finally:
        if restore():
            for signum, old in previous.items():
                if old is not None:  # None: set outside Python, which cannot put it back
                    signal.signal(signum, old)
