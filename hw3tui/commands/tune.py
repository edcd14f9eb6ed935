"""`hw3tui tune PRESET`: the table `runtime: auto` chooses from, measured on this machine.

Times every precision and memory layout on the preset's model, image size and batch sizes (as a
run's probe does, but whatever the run's length and with a larger time budget), prints the rates
and what `auto` would choose, and caches them so the next run with this model pays nothing.
Nothing is trained and no run folder is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from hw3tui.commands.common import load_or_exit, set_option
from hw3tui.untrusted import printable

AUTO = ("runtime.precision=auto", "runtime.channels_last=auto")


@click.command()
@click.argument("preset")
@set_option
@click.option(
    "--as-run",
    is_flag=True,
    help="Decide as a run of PRESET would, whatever its length: time only the settings it leaves "
    "at auto, and answer from the cache when it can (what `hw3tui sweep` does before its first "
    "trial).",
)
@click.option(
    "--seconds",
    type=click.FloatRange(1, 3600),
    default=None,
    metavar="S",
    help="The most seconds to measure for (default 60).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the choice and rates as JSON.")
def tune(
    preset: str, overrides: tuple[str, ...], as_run: bool, seconds: float | None, as_json: bool
) -> None:
    """Time the precisions and memory layouts `runtime: auto` chooses among for PRESET.

    Prints images/s of training steps for each (fp32/bf16 x NCHW/channels_last on a CPU; the GPU's
    mixed precision x layouts on CUDA) at the preset's image size and batch sizes, and the choice.
    The rates are cached: later runs of this model on this machine use them without measuring.
    """
    loaded = load_or_exit(preset, overrides)
    measured = loaded if as_run else load_or_exit(preset, (*overrides, *AUTO))
    from hw3tui.engine.hardware.probe import TUNE_SECONDS, Tune
    from hw3tui.engine.training.job import prepare

    how = Tune(seconds or TUNE_SECONDS, reuse=as_run)
    note = _note_to_stderr if as_json else _note
    setup = prepare(measured, base_dir=Path.cwd(), note=note, tune=how)
    runtime = setup.runtime
    if as_json:  # read by `hw3tui sweep` (its trials' workload and what they will find)
        record = {
            "backbone": loaded.preset.backbone.name,
            "image_size": setup.preset.data.image_size,
        }
        click.echo(json.dumps({**record, "runtime": dict(runtime.as_json())}))
        return
    auto: dict[str, Any] = runtime.auto or {}
    chosen = f"{runtime.precision} {'channels_last' if runtime.channels_last else 'NCHW'}"
    spec = loaded.preset.runtime
    threads = f", {runtime.threads} threads" if runtime.device.type == "cpu" else ""
    click.echo(
        f"{loaded.preset.backbone.name} at {loaded.preset.data.image_size} px on "
        f"{runtime.device}{threads}: training images/s"
    )
    for line in rate_table(auto.get("rates") or {}, chosen):  # labels read from the cache file
        click.echo(printable(line))
    if auto.get("how") != "measured":
        why = auto.get("why") or auto.get("how")
        click.echo(printable(f"not measured ({why}): auto uses {chosen}"))
        return
    seconds = auto.get("probe_seconds")
    click.echo(printable(f"auto chooses {chosen} (measured in {seconds} s; cached for later runs)"))
    forced = [
        f"{name}: {value}"
        for name, value in (("precision", spec.precision), ("channels_last", spec.channels_last))
        if value != "auto"
    ]
    if forced:
        click.echo(f"the preset sets {', '.join(forced)}: its runs use that, not auto")


def rate_table(rates: dict[str, dict[str, float]], chosen: str) -> list[str]:
    """One line per setting, one column per batch size; the chosen setting marked."""
    sizes = sorted({size for by in rates.values() for size in by}, key=int)
    width = max((len(label) for label in rates), default=8) + 2
    lines = ["  " + "setting".ljust(width) + "".join(f"{'batch ' + s:>12}" for s in sizes)]
    for label, by in rates.items():
        cells = "".join(f"{by[s]:>12.1f}" if s in by else f"{'-':>12}" for s in sizes)
        mark = "  <- auto" if label == chosen else ""
        lines.append("  " + label.ljust(width) + cells + mark)
    return lines


def _note(text: str) -> None:
    click.echo(f"hw3tui: {printable(text)}")  # it may quote paths someone else named


def _note_to_stderr(text: str) -> None:
    click.echo(f"hw3tui: {printable(text)}", err=True)  # stdout is the JSON alone
