"""Extending a run: `hw3tui resume RUN --set schedule.epochs=80` continues a finished (or
early-stopped) run in its own folder with a changed schedule, and nothing else changed.

    check_schedule_only(overrides)          # RunDirError (exit 2) naming any other key
    extended_text(text, before, after, overrides, when=time.time())

The frozen preset.yaml gets the new values (every other byte kept) and one comment line saying
what changed when, below the result lines (`hw3tui.runs.header`), so a shared preset says how its
run was trained. No torch here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from hw3tui.errors import RunDirError
from hw3tui.preset.io import effective, parse_override
from hw3tui.preset.models import Preset
from hw3tui.preset.problems import dotted
from hw3tui.preset.yamlio import flow
from hw3tui.runs.header import strip_result
from hw3tui.untrusted import printable

MARK = "# hw3tui extended:"
SECTION = "schedule"
"""The only section a resume may change: how long and at what rates the run goes on. Anything
else (data, model, optimizer, augmentation) would make its trained epochs another run's."""


def check_schedule_only(overrides: Sequence[str]) -> None:
    """`RunDirError` (exit 2) naming the first `--set` that is not a `schedule.*` key."""
    for override in overrides:
        path, _ = parse_override(override)
        if len(path) < 2 or path[0] != SECTION:
            raise RunDirError(
                f"--set {printable(override)}: a resumed run can change only schedule.* keys, "
                f"not {printable(dotted(path))} (start a new run for that)"
            )


def changes(before: Preset, after: Preset) -> list[str]:
    """`schedule.epochs 3 -> 5` for each schedule value that differs."""
    old, new = effective(before), effective(after)
    return [
        f"{key} {flow(old.get(key))} -> {flow(new[key])}"
        for key in new
        if key.startswith(f"{SECTION}.") and old.get(key) != new[key]
    ]


def extended_text(text: str, before: Preset, after: Preset, *, when: float) -> str:
    """`text` (the preset with the new values) with a comment line of what changed, and when."""
    stamp = datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    what = "; ".join(changes(before, after)) or "nothing"
    body = strip_result(text)
    head = text[: len(text) - len(body)]
    # escaped: a newline in a value would end the comment and add YAML
    return f"{head}{printable(f'{MARK} {stamp}: {what}')}\n{body}"
