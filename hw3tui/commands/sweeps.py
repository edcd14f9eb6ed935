"""`hw3tui sweep` and `hw3tui sweeps`: experiments of many runs, on Optuna.

`hw3tui sweep FILE` runs a sweep file in the foreground; `hw3tui sweep A.yaml B.yaml` (presets
instead of a sweep file) is a queue; `hw3tui sweep resume DIR` continues a sweep (and is how a
second worker, on this machine or another, joins one). Optuna is imported only once a sweep runs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hw3tui import exits
from hw3tui.commands.common import set_option
from hw3tui.commands.options import folder_option, storage_options
from hw3tui.errors import BadInput
from hw3tui.preset.yamlio import read_file
from hw3tui.sweeps.file import (
    LoadedSweep,
    check_sweep_text,
    is_sweep_file,
    load_sweep,
    preset_sweep,
    queue_sweep,
)
from hw3tui.sweeps.folder import (
    DEFAULT_SWEEPS_DIR,
    Row,
    SweepDir,
    list_sweeps,
    read_leaderboard,
)
from hw3tui.sweeps.model import MAX_REPEAT
from hw3tui.untrusted import printable

if TYPE_CHECKING:
    from hw3tui.sweeps.configs import ConfigRow


@click.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@folder_option(
    "--sweep-dir",
    f"Exact folder for this sweep (default: ./{DEFAULT_SWEEPS_DIR}/<name>-<date>-<time>).",
)
@set_option
@storage_options
@click.option(
    "--print-commands",
    is_flag=True,
    help="Print one `hw3tui run` command per trial (for a cluster's job arrays) of a sweep file or "
    "a sweep folder; start nothing. A grid has at most 100,000 trials.",
)
@click.option(
    "--retry-failed",
    is_flag=True,
    help="With `resume`: queue every failed trial again, same values and seed, as a new trial "
    "(pruned trials stay pruned; a trial retried once is not retried again).",
)
def sweep(
    files: tuple[str, ...],
    sweep_dir: Path | None,
    overrides: tuple[str, ...],
    storage: str | None,
    runs: Path | None,
    print_commands: bool,
    retry_failed: bool,
) -> None:
    """Run a sweep FILE, or a queue of presets (FILE... given instead of a sweep file).

    `hw3tui sweep resume DIR` continues the sweep in DIR: finished trials are never rerun, a
    trial that was running is continued with `hw3tui resume`; run it on several machines (a
    shared folder, or --storage) and each is a worker that claims the next trial.
    `hw3tui sweep resume DIR --retry-failed` first queues the failed trials again as new ones.
    A grid has at most 100,000 trials (the product of its axes' lengths), like `trials`.
    A database that goes away is waited for (up to 10 minutes; the trials keep training).
    Exit codes: 0 every trial ended (done, pruned or failed), 1 the database stayed unreachable
    (trials keep running; `hw3tui sweep resume DIR` continues), 2 bad sweep file, 130 Ctrl-C
    (running trials cancelled cleanly; `hw3tui sweep resume DIR` continues).
    """
    if retry_failed and files[0] != "resume":
        raise BadInput("--retry-failed goes with `hw3tui sweep resume DIR`")
    if files[0] == "resume":
        if len(files) != 2 or overrides or storage or runs or sweep_dir or print_commands:
            raise BadInput("usage: hw3tui sweep resume DIR [--retry-failed] (no other options)")
        folder = SweepDir(Path(files[1]))
        loaded = _load_frozen(folder)
        if loaded.sweep.storage:  # before a worker marks the folder: one line, exit 2
            from hw3tui.sweeps.storage import check_storage

            check_storage(loaded.sweep.storage)
    elif print_commands and len(files) == 1 and Path(files[0], "sweep.yaml").is_file():
        folder = SweepDir(Path(files[0]))  # a sweep folder: its own trials' run folders
        _print_commands(_load_frozen(folder), folder.path)
        return
    else:
        loaded = placed(_load(files, overrides), storage, runs)
        if print_commands:
            _print_commands(loaded, sweep_dir)
            return
        # `--storage`: relative to the working directory; the file's own key: to its folder
        base = Path.cwd() if storage else Path(files[0]).parent  # a queue's text has no storage
        folder, loaded = new_folder(frozen_storage(loaded, base=base), sweep_dir)
    run_sweep(folder, loaded, retry_failed=retry_failed)


@click.command()
@click.argument("preset")
@click.option(
    "-n",
    "--seeds",
    "repeat",
    type=click.IntRange(1, MAX_REPEAT),
    default=3,
    show_default=True,
    help="Runs, with seeds seed, seed+1, ... (the preset's seed first).",
)
@set_option
@folder_option(
    "--sweep-dir",
    f"Exact folder (default: ./{DEFAULT_SWEEPS_DIR}/<name>-repeat-<date>-<time>).",
)
@storage_options
def repeat(
    preset: str,
    repeat: int,
    overrides: tuple[str, ...],
    sweep_dir: Path | None,
    storage: str | None,
    runs: Path | None,
) -> None:
    """Run PRESET N times with seeds seed..seed+N-1: a sweep with no axes and `repeat: N`.

    Prints the spread (mean ± std over the seeds) at the end; `hw3tui sweep resume DIR`
    continues it, and joins it from another machine (--storage, --runs). Exit codes as
    `hw3tui sweep`.
    """
    loaded = preset_sweep(preset, kind="repeat", overrides=overrides, repeat=repeat)
    for line in loaded.warnings:
        click.echo(f"warning: {line}", err=True)
    loaded = frozen_storage(placed(loaded, storage, runs), base=Path.cwd())
    run_sweep(*new_folder(loaded, sweep_dir))


def _load(files: tuple[str, ...], overrides: tuple[str, ...]) -> LoadedSweep:
    """A sweep file, or the presets of a queue; exit 2 with every problem located."""
    paths = [Path(f) for f in files]
    sweeps = [p for p in paths if p.is_file() and is_sweep_file(p)]
    if sweeps and len(paths) > 1:
        raise BadInput(f"{sweeps[0]}: a sweep file runs alone (presets may be queued)")
    loaded = load_sweep(sweeps[0], overrides) if sweeps else queue_sweep(files, overrides)
    for line in loaded.warnings:
        click.echo(f"warning: {line}", err=True)
    return loaded


def placed(loaded: LoadedSweep, storage: str | None, runs: Path | None) -> LoadedSweep:
    """A new sweep with `--storage URL` and `--runs DIR` (`hw3tui sweep`, `repeat`, `ablate`):
    its `storage` and `runs` keys set and the text checked again, a relative `runs` made
    absolute against the working directory. Nothing connects yet: `frozen_storage` does."""
    from hw3tui.preset.yamlio import set_in_text

    if storage is None and runs is None:
        return loaded
    text = loaded.text
    for key, value in (("storage", storage), ("runs", runs)):
        if value is not None:
            text = set_in_text(text, (key,), str(value), loaded.source)
    return check_sweep_text(text, loaded.source, Path.cwd())


def frozen_storage(loaded: LoadedSweep, *, base: Path) -> LoadedSweep:
    """A new sweep checked before its folder exists (`hw3tui.sweeps.new.ready`, which the TUI
    calls too: exit 2, one line, nothing made) and frozen: its storage URL without its password,
    a relative sqlite path absolute against `base` (`--storage`: the working directory; a sweep
    file's own key: its folder, like `base`)."""
    from hw3tui.sweeps.new import ready

    loaded, warnings = ready(loaded, base=base)
    for line in warnings:
        click.echo(f"warning: {line}", err=True)
    return loaded


def _load_frozen(folder: SweepDir) -> LoadedSweep:
    if not folder.sweep_file.is_file():
        raise BadInput(f"{folder.path}: not a sweep folder (no sweep.yaml)")
    try:
        text = read_file(folder.sweep_file, str(folder.sweep_file))
        return check_sweep_text(text, str(folder.sweep_file), folder.path)
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{folder.sweep_file}: cannot read: {exc}") from None


def new_folder(loaded: LoadedSweep, sweep_dir: Path | None) -> tuple[SweepDir, LoadedSweep]:
    """The new sweep's folder with its frozen sweep.yaml (its `study` named after the folder),
    once `frozen_storage` has checked the sweep."""
    from hw3tui.atomic import write_text_atomic
    from hw3tui.sweeps.storage import with_study

    try:
        if sweep_dir is not None:
            if (sweep_dir / "sweep.yaml").exists():
                raise BadInput(
                    f"--sweep-dir {sweep_dir}: already holds a sweep; "
                    f"`hw3tui sweep resume {sweep_dir}` continues it"
                )
            sweep_dir.mkdir(parents=True, exist_ok=True)
            folder = SweepDir(sweep_dir)
        else:
            folder = SweepDir.create(DEFAULT_SWEEPS_DIR, loaded.sweep.name)
        loaded = with_study(loaded, folder.name)
        write_text_atomic(folder.sweep_file, loaded.text)
        folder.runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"cannot create the sweep folder: {exc}") from None
    return folder, loaded


def run_sweep(folder: SweepDir, loaded: LoadedSweep, *, retry_failed: bool = False) -> None:
    from hw3tui.sweeps.gpus import slots
    from hw3tui.sweeps.patience import DatabaseAway
    from hw3tui.sweeps.runner import Worker

    places = slots(loaded.sweep.parallel)
    sweep_model = loaded.sweep
    prune = "" if sweep_model.prune in (None, "none") else ", pruned early"
    seeds = f" × {sweep_model.repeat} seeds" if sweep_model.repeat > 1 else ""
    from hw3tui.sweeps.workers import hold_worker

    with hold_worker(folder.path):  # `hw3tui sweeps` and the TUI see it live; the TUI stops it
        try:
            # the study first: one that is not this sweep's is refused before anything is said
            worker = Worker(
                folder, loaded, places, say=lambda line: click.echo(line), retry_failed=retry_failed
            )
            click.echo(
                f"sweep {folder.path}: {sweep_model.planned()} trials{seeds} ({sweep_model.method}"
                f"{prune}), {len(places.gpus)} at once ({places.how})"
            )
            finished = worker.run()
        except KeyboardInterrupt:  # before the worker's own handler (opening the study)
            finished = False
        except DatabaseAway as exc:  # one line; the trials keep running, resume adopts them
            where = f"`hw3tui sweep resume {folder.path}` continues once it is back"
            click.echo(printable(f"{exc}; {where}"), err=True)
            sys.exit(exits.CANCELLED if exc.interrupted else exits.FAILED)
    axes, rows = read_leaderboard(folder)
    if sweep_model.repeat > 1:
        from hw3tui.results.verdicts import higher_is_better
        from hw3tui.sweeps.configs import config_rows

        configs = config_rows(rows, higher_is_better=higher_is_better(loaded.monitor))
        click.echo(configs_table(configs, axes, limit=10))
    else:
        click.echo(leaderboard_table(rows, axes, limit=10))
    if sweep_model.variants:
        _show_ablation(folder)
    if not finished:
        click.echo(f"cancelled: `hw3tui sweep resume {folder.path}` continues", err=True)
        sys.exit(exits.CANCELLED)
    if folder.best_file.exists():
        click.echo(f"best preset: {folder.best_file}")


def _show_ablation(folder: SweepDir) -> None:
    """An ablation's table as ablation.csv holds it, and where its files are."""
    from hw3tui.results.ablation import ablation_table, read_ablation

    table = folder.path / "ablation.csv"
    cells = read_ablation(table)
    if cells:
        click.echo(ablation_table(cells))
        click.echo(f"ablation: {table} and {folder.path / 'ablation.png'}")


def _print_commands(loaded: LoadedSweep, sweep_dir: Path | None) -> None:
    """One `hw3tui run` per trial: a grid's combinations, or random draws from the sampler."""
    import shlex

    runs = Path(loaded.sweep.runs) if loaded.sweep.runs else None
    folder = SweepDir(sweep_dir or DEFAULT_SWEEPS_DIR / loaded.sweep.name, runs)
    if loaded.sweep.method != "grid":
        click.echo(
            f"# {loaded.sweep.planned()} random draws ({loaded.sweep.method} learns from finished "
            "trials: a job array of `hw3tui sweep resume DIR` workers runs it as written)",
            err=True,
        )
    repeat = loaded.sweep.repeat
    for number, (start, params) in enumerate(_trials(loaded)):
        for k in range(repeat):  # each seed of a configuration: its own run folder
            run = folder.run_of(number, k, repeat)
            args = ["hw3tui", "run", start, "--run-dir", str(run.path)]
            args += [a for o in loaded.run_overrides(start, params, k) for a in ("--set", o)]
            click.echo(shlex.join(args))


def _trials(loaded: LoadedSweep) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every trial's preset and axis values, one at a time: a grid's combinations in order (no
    Optuna), else draws from an in-memory study (nothing is written)."""
    from hw3tui.sweeps.study import grid_trials, suggest

    if loaded.sweep.method == "grid":
        yield from grid_trials(loaded)
        return
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=loaded.sweep.seed))
    for _ in range(loaded.sweep.planned()):
        trial = study.ask()
        yield suggest(trial, loaded)
        study.tell(trial, 0.0)


def leaderboard_table(rows: list[Row], axes: list[str], *, limit: int | None = None) -> str:
    """The leaderboard as aligned plain text (log-friendly: no colour, no box drawing)."""
    header = ["#", "trial", "state", "value", "epoch", *axes]
    body = [
        [str(i + 1), str(r.trial), r.state]
        + ["" if r.value is None else f"{r.value:.4f}", "" if r.epoch is None else str(r.epoch)]
        + [r.params.get(a, "") for a in axes]
        for i, r in enumerate(rows[:limit] if limit else rows)
    ]
    return _aligned([header, *body]) + _more(len(rows), limit, "leaderboard.csv")


def configs_table(configs: list[ConfigRow], axes: list[str], *, limit: int | None = None) -> str:
    """configs.csv as aligned plain text: each configuration's mean ± std over n seeds, its
    difference from the best with the 95 % interval, and the verdict."""
    header = ["#", "config", "n", "mean ± std", "vs best [95 % interval]", "verdict", *axes]
    body = []
    for i, c in enumerate(configs[:limit] if limit else configs):
        s, v = c.spread, c.verdict
        mean = "" if s.mean is None else f"{s.mean:.4f}"
        mean += f" ± {s.std:.4f}" if s.std is not None else ""
        delta = ""
        if v is not None and v.delta is not None:
            delta = f"{v.delta:+.4f}"
            delta += f" [{v.low:+.4f}, {v.high:+.4f}]" if v.low is not None else ""
        shown = [printable(c.params.get(a, "")) for a in axes]
        body.append([str(i + 1), str(c.config), str(s.n), mean, delta, c.word, *shown])
    return _aligned([header, *body]) + _more(len(configs), limit, "configs.csv")


def _aligned(table: list[list[str]]) -> str:
    widths = [max(len(row[c]) for row in table) for c in range(len(table[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in table]
    return "\n".join(line.rstrip() for line in lines)


def _more(total: int, limit: int | None, where: str) -> str:
    return f"\n… {total - limit} more in {where}" if limit and total > limit else ""


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the sweeps as a JSON list.")
@folder_option("--sweeps-dir", f"Folder of sweeps (default: ./{DEFAULT_SWEEPS_DIR}).")
def sweeps(as_json: bool, sweeps_dir: Path | None) -> None:
    """List sweeps: state, trials ended of planned, best value and its trial."""
    root = sweeps_dir or DEFAULT_SWEEPS_DIR
    found = list_sweeps(root)
    if as_json:
        click.echo(json.dumps([s.as_json() for s in found], indent=2))
        return
    if not found:
        click.echo(f"no sweeps in {root}/ yet (hw3tui sweep FILE starts one)")
        return
    for s in found:
        best = (
            f"best {s.monitor} {s.best.value:.4f} (trial {s.best.trial})"
            if s.best is not None and s.best.value is not None
            else "no result yet"
        )
        click.echo(f"{s.name}  {s.state}  {s.ended}/{s.planned} trials  {best}")
