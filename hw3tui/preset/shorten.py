"""Shortening a run by an override: `--set schedule.epochs=3` on a 50-epoch preset.

When `schedule.epochs` comes from an override (`--set`, a sweep's `set` or axes, the TUI's run
dialog), the schedule entries past the new last epoch are simply never reached: they are cut from
the text (so the frozen preset.yaml of the run is valid on its own, and `hw3tui resume` reads it
as it ran) and one warning names them. Written in the file itself, an entry past the file's own
last epoch stays an error (a typo like `80` in a 50-epoch file): this runs only for overrides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hw3tui.preset.yamlio import parse, set_in_text, to_plain

SCHEDULED = ("lr", "batch_size", "weight_decay")
EPOCHS: tuple[str, ...] = ("schedule", "epochs")


def cut_to_epochs(text: str, source: str) -> tuple[str, str | None]:
    """`text` with by-epoch entries and per-epoch list values past the last epoch removed, and a
    warning naming what was cut (None when nothing was). Anything unusable is left untouched for
    validation to report."""
    document = to_plain(parse(text, source).data)
    schedule = document.get("schedule") if isinstance(document, Mapping) else None
    epochs = schedule.get("epochs") if isinstance(schedule, Mapping) else None
    if not isinstance(schedule, Mapping) or isinstance(epochs, bool) or not isinstance(epochs, int):
        return text, None
    if epochs < 1:
        return text, None
    cut: list[str] = []
    for name in SCHEDULED:
        spec = schedule.get(name)
        shorter, what = _shorter(spec, epochs)
        if what is not None:
            text = set_in_text(text, ("schedule", name), shorter, source)
            cut.append(f"schedule.{name} {what}")
    if not cut:
        return text, None
    return text, (
        f"schedule.epochs is {epochs} (last epoch {epochs - 1}), so these are never reached: "
        + "; ".join(cut)
    )


def _shorter(spec: Any, epochs: int) -> tuple[Any, str | None]:
    """The schedule without its entries past the last epoch, and what was cut (or None)."""
    if isinstance(spec, Mapping) and spec and all(_is_epoch(k) for k in spec):
        late = sorted(k for k in spec if k >= epochs)
        if not late or len(late) == len(spec):  # nothing late, or no epoch 0: validation says
            return spec, None
        kept = {k: v for k, v in spec.items() if k < epochs}
        epochs_word = "epoch" if len(late) == 1 else "epochs"
        return kept, f"from {epochs_word} {', '.join(str(k) for k in late)}"
    if isinstance(spec, list) and len(spec) > epochs:
        values = f"{epochs + 1}" if len(spec) == epochs + 1 else f"{epochs + 1}-{len(spec)}"
        return spec[:epochs], f"per-epoch list values {values} of {len(spec)}"
    return spec, None


def _is_epoch(key: Any) -> bool:
    return isinstance(key, int) and not isinstance(key, bool) and key >= 0
