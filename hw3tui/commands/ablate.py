"""`hw3tui ablate PRESET`: the preset as is, and one variant per choice it makes, as a sweep.

The plan (`hw3tui.sweeps.ablation.variants_of`) becomes a sweep file whose `variants` are the
configurations; it runs like any sweep (same folder, `sweep resume`, TUI, leaderboard) and adds
ablation.csv and ablation.png, rewritten after every trial.
"""

from __future__ import annotations

from pathlib import Path

import click

from hw3tui.commands.common import load_or_exit, set_option
from hw3tui.commands.options import folder_option, storage_options
from hw3tui.runs import DEFAULT_RUNS_DIR
from hw3tui.sweeps.ablation import ablation_sweep
from hw3tui.sweeps.folder import DEFAULT_SWEEPS_DIR
from hw3tui.untrusted import printable

MAX_SEEDS = 100


@click.command()
@click.argument("preset")
@click.option(
    "-n",
    "seeds",
    type=click.IntRange(1, MAX_SEEDS),
    default=1,
    show_default=True,
    help="Seeds per configuration (seed, seed+1, ...): 3 or more give each variant a verdict.",
)
@set_option
@click.option(
    "--variant",
    "extra",
    multiple=True,
    metavar="FIELD=VALUE",
    help="One more variant, e.g. --variant optimizer.name=sgd (repeatable; checked like --set).",
)
@click.option(
    "--skip",
    multiple=True,
    metavar="FIELD",
    help="Leave out the variant that turns FIELD off, e.g. --skip augment.affine (repeatable).",
)
@folder_option(
    "--sweep-dir",
    f"Exact folder (default: ./{DEFAULT_SWEEPS_DIR}/<name>-ablation-<date>-<time>).",
)
@storage_options
@folder_option("--runs-dir", "Where earlier runs of the preset time the plan (default: ./runs).")
@click.option("--plan", "plan_only", is_flag=True, help="Print the plan and start nothing.")
def ablate(
    preset: str,
    seeds: int,
    overrides: tuple[str, ...],
    extra: tuple[str, ...],
    skip: tuple[str, ...],
    sweep_dir: Path | None,
    storage: str | None,
    runs: Path | None,
    runs_dir: Path | None,
    plan_only: bool,
) -> None:
    """Run PRESET as is and once per choice it makes, that choice turned off (an ablation).

    Variants: every augmentation the preset turns on (mixup and cutmix too), off; label smoothing
    and ema off; every per-epoch schedule (lr, batch size, weight decay) a constant, its epoch-0
    value; momentum and nesterov off; a pretrained backbone trained from scratch; early stopping
    off; and each --variant. The sweep folder's ablation.csv and ablation.png give each variant's
    difference from the preset as is, with its 95 % interval and verdict (paired by seed).
    --storage and --runs as for `hw3tui sweep` (other machines join with `sweep resume`). Exit
    codes like `hw3tui sweep`.
    """
    loaded = load_or_exit(preset, overrides)
    sweep, variants = ablation_sweep(
        preset, loaded, seeds=seeds, skip=skip, extra=extra, overrides=overrides
    )
    from hw3tui.commands.sweeps import frozen_storage, new_folder, placed, run_sweep

    sweep = placed(sweep, storage, runs)
    if not plan_only:  # a bad URL: its one line before the plan, nothing made
        sweep = frozen_storage(sweep, base=Path.cwd())
    from hw3tui.sweeps.estimate import estimate, plan_line

    planned = sweep.sweep.planned_runs()
    found = estimate(loaded.preset, runs_dir or DEFAULT_RUNS_DIR)
    click.echo(f"ablation of {printable(loaded.preset.name)}: {len(variants)} configurations")
    for variant in variants:
        click.echo(f"  {printable(variant.name)}")
    click.echo(f"plan: {plan_line(planned, found)}")
    if plan_only:
        return
    run_sweep(*new_folder(sweep, sweep_dir))  # ends with the ablation table
