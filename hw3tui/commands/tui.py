"""`hw3tui tui` (and bare `hw3tui`): the terminal UI. Textual is imported only when it opens."""

from __future__ import annotations

from pathlib import Path

import click

from hw3tui.commands.options import folder_option, runs_dir_option
from hw3tui.errors import BadInput


@click.command()
@click.argument("presets", nargs=-1, metavar="[PRESET]...")
@folder_option(
    "--presets-dir",
    "Folder of presets to list (default: ./presets).",
)
@runs_dir_option("Folder of runs to list, and where new runs go")
@folder_option(
    "--sweeps-dir",
    "Folder of sweeps to list, and where new sweeps go (default: ./sweeps).",
)
def tui(
    presets: tuple[str, ...] = (),
    presets_dir: Path | None = None,
    runs_dir: Path | None = None,
    sweeps_dir: Path | None = None,
) -> None:
    """Open the terminal UI: edit presets, launch runs and sweeps, watch them live, compare them.

    PRESET files are listed along with the presets folder's. Runs started here are separate
    processes: quitting the app or losing the terminal leaves them training.
    """
    folder = presets_dir if presets_dir is not None else Path("presets")
    if presets_dir is not None and not folder.is_dir():
        raise BadInput(f"--presets-dir {presets_dir}: no such folder")
    runs = runs_dir if runs_dir is not None else Path("runs")
    opened = []
    for name in presets:
        path = Path(name)
        if not path.is_file():
            raise BadInput(f"{name}: no such preset file")
        opened.append(path)

    from hw3tui.tui.app import Hw3tuiApp

    sweeps = sweeps_dir if sweeps_dir is not None else Path("sweeps")
    app = Hw3tuiApp(presets_dir=folder, runs_dir=runs, sweeps_dir=sweeps, opened=opened)
    app.run()
    # Textual catches an exception that kills the app, prints it and returns normally, with
    # return_code 1: a script (or a test) that ran the TUI must not read that as success
    if app.return_code:
        raise SystemExit(app.return_code)
