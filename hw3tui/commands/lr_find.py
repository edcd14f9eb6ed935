"""`hw3tui lr-find PRESET`: the lr range test on the preset's model and data, with a suggestion.

A throwaway copy of the model trains for up to `--steps` steps while the lr grows exponentially
from `--start` to `--end` (hw3tui/engine/training/lr_find.py); no run folder is written. One
process, whatever the preset's runtime.gpus or --nproc say. `--json` prints the curve as one JSON
object (the TUI editor's lr finder runs this command as its child and reads it).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hw3tui.commands.common import load_or_exit, set_option
from hw3tui.commands.results import _writable
from hw3tui.errors import BadInput
from hw3tui.results.lr_ramp import END, MAX_STEPS, MIN_STEPS, START, STEPS, ramp_problem
from hw3tui.untrusted import printable

if TYPE_CHECKING:
    from hw3tui.engine.training.lr_find import LrCurve
    from hw3tui.preset import Preset


@click.command()
@click.argument("preset")
@set_option
@click.option("--start", type=float, default=START, show_default=True, help="First lr.")
@click.option("--end", type=float, default=END, show_default=True, help="Last lr.")
@click.option(
    "--steps",
    type=click.IntRange(MIN_STEPS, MAX_STEPS),
    default=STEPS,
    show_default=True,
    help="Optimizer steps from --start to --end (the test stops early at divergence).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the figure (loss against lr, the suggestion marked) to this PNG file.",
)
@click.option(
    "--nproc",
    type=click.IntRange(1, 1024),
    default=None,
    metavar="N",
    help="Accepted for symmetry with `hw3tui run`: the test runs in one process.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the curve (lrs, losses, smoothed, suggestion) as JSON; notes go to stderr.",
)
def lr_find(
    preset: str,
    overrides: tuple[str, ...],
    start: float,
    end: float,
    steps: int,
    output: Path | None,
    nproc: int | None,
    as_json: bool,
) -> None:
    """Find a learning rate for PRESET: a short exponential lr ramp on a throwaway model.

    Trains a copy of the preset's model (its optimizer, first batch size and weight decay, its
    augmentation) while the lr grows from --start to --end, smooths the loss, stops when it
    diverges (4x its minimum) and suggests the lr of its steepest descent, leaving out the first
    and last 10 % of the points. Prints the suggestion as a `--set schedule.lr=...` line.
    Exit codes: 0 done, 2 bad input.
    """

    def say(text: str) -> None:
        # with --json, stdout holds the JSON alone
        click.echo(printable(text), err=as_json)

    problem = ramp_problem(start, end, steps)
    if problem is not None:
        raise BadInput(problem.line)
    if output is not None:
        _writable(output, "-o")
    loaded = load_or_exit(preset, overrides)
    processes = nproc or loaded.preset.runtime.gpus
    if processes > 1:
        say(f"hw3tui: lr-find runs in one process (not {processes})")
        loaded = load_or_exit(preset, (*overrides, "runtime.gpus=1"))
    from hw3tui.engine.training.job import make_job, prepare
    from hw3tui.engine.training.lr_find import lr_range_test

    setup = prepare(loaded, base_dir=Path.cwd(), note=lambda text: say(f"hw3tui: {text}"))
    job = make_job(setup)
    curve = lr_range_test(job, start=start, end=end, steps=steps)
    ended = "diverged" if curve.diverged else "reached --end"
    low = min(curve.smoothed) if curve.smoothed else math.nan
    say(
        f"{len(curve.losses)} steps, lr {curve.lrs[0]:.2g} to {curve.lrs[-1]:.2g} ({ended}); "
        f"lowest smoothed loss {low:.4g}"
    )
    if output is not None:
        from hw3tui.results.lr_figure import lr_figure

        title = f"lr range test: {loaded.preset.name} ({loaded.preset.backbone.name})"
        lr_figure(curve.lrs, curve.losses, curve.smoothed, curve.suggestion, output, title=title)
        say(f"wrote {output}")
    if as_json:
        click.echo(json.dumps(_as_json(curve, loaded.preset), allow_nan=False))
        return
    if curve.suggestion is None:
        click.echo("no suggestion: the smoothed loss never fell (try a wider --start/--end)")
        return
    click.echo(f"suggested: --set schedule.lr={curve.suggestion:.2g}")


def _as_json(curve: LrCurve, preset: Preset) -> dict[str, Any]:
    """The curve as JSON (a non-finite loss, e.g. at divergence, is null)."""

    def finite(values: list[float]) -> list[float | None]:
        return [v if math.isfinite(v) else None for v in values]

    return {
        "preset": preset.name,
        "backbone": preset.backbone.name,
        "lrs": curve.lrs,
        "losses": finite(curve.losses),
        "smoothed": finite(curve.smoothed),
        "suggestion": curve.suggestion,
        "diverged": curve.diverged,
    }
