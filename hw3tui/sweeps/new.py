"""A new sweep, checked before anything of it exists.

What `hw3tui sweep`, `repeat` and `ablate` refuse before they make the sweep folder (one line,
exit 2), the TUI refuses by the same function before it makes the folder it starts them in (an
error notification): a bad storage URL or a shared `runs` folder never leaves an empty sweep
behind. Torch-free; Optuna and SQLAlchemy are imported only when a sweep names a storage.
"""

from __future__ import annotations

from pathlib import Path

from hw3tui.errors import BadInput
from hw3tui.sweeps.file import LoadedSweep
from hw3tui.untrusted import printable


def ready(loaded: LoadedSweep, *, base: Path) -> tuple[LoadedSweep, list[str]]:
    """The new sweep as it will be frozen, once nothing refuses it: its storage (checked and
    frozen by `freeze_storage`: it parses, its driver imports, its server answers, its study is
    no other sweep's; a relative sqlite path made absolute against `base`) and its `runs`
    folder (`check_runs`). Also the warnings to show. `BadInput` (one line) otherwise, and
    nothing is made."""
    from hw3tui.sweeps.storage import freeze_storage

    loaded, warnings = freeze_storage(loaded, base=base)
    check_runs(loaded)
    return loaded, warnings


def check_runs(loaded: LoadedSweep) -> None:
    """A new sweep's `runs` folder (absolute once frozen) holds no other sweep's trials: two
    sweeps' trial-000 in one folder would be one run folder."""
    if loaded.sweep.runs is None:
        return
    runs = Path(loaded.sweep.runs)
    try:
        held = runs.is_dir() and any(not p.name.startswith(".") for p in runs.iterdir())
    except OSError as exc:
        raise BadInput(f"runs {runs}: cannot read: {exc}") from None
    if runs.exists() and not runs.is_dir():
        raise BadInput(f"runs {printable(str(runs))}: not a folder")
    if held:
        raise BadInput(
            f"runs {printable(str(runs))}: already holds runs (of another sweep?); give each "
            "sweep its own folder (`hw3tui sweep resume DIR` continues a sweep)"
        )
