"""Options several commands share. Imports only click (and the torch-free, model-free errors):
`hw3tui --help` and the TUI load this."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.decorators import FC

from hw3tui.errors import BadInput

if TYPE_CHECKING:
    from hw3tui.results.figures import Size

F = TypeVar("F", bound=Callable[..., Any])
SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")


def folder_option(flag: str, help: str) -> Callable[[F], F]:
    """A folder option such as `--runs-dir`: a Path, or None when not given (each command has its
    own default, which `help` names)."""
    return click.option(
        flag, type=click.Path(file_okay=False, path_type=Path), default=None, help=help
    )


def storage_options(function: FC) -> FC:
    """`--storage URL` and `--runs DIR`, where a new sweep keeps its study and its trials' run
    folders (`hw3tui sweep`, `repeat`, `ablate`): the sweep file's `storage` and `runs` keys,
    set by `hw3tui.commands.sweeps.placed` and checked by `frozen_storage`."""
    function = click.option(
        "--storage",
        metavar="URL",
        default=None,
        help="Optuna storage URL shared by workers on several machines (saved in sweep.yaml "
        "without its password; default: a journal file in the sweep folder).",
    )(function)
    return click.option(
        "--runs",
        "runs",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Where the trials' run folders go, the folder machines share (saved absolute in "
        "sweep.yaml; default: runs in the sweep folder).",
    )(function)


def runs_dir_option(help: str = "Where to look for a RUN given by name") -> Callable[[F], F]:
    """`--runs-dir`, the one option of every command that reads or writes the runs folder: `help`
    says what the folder is for there; its default (./runs) is added."""
    return folder_option("--runs-dir", f"{help} (default: ./runs).")


def figure_options(function: FC) -> FC:
    """`--format`, `--size WxH` and `--dpi`: the figures of `hw3tui plot`, `report` and
    `augment` (read `--size` with `figure_size`)."""
    function = click.option(
        "--format",
        "fmt",
        type=click.Choice(["png", "svg", "pdf"]),
        default="png",
        show_default=True,
        help="File format of the figures.",
    )(function)
    function = click.option(
        "--size",
        "size_text",
        default="960x600",
        show_default=True,
        metavar="WxH",
        help="Size of each figure in pixels (at --dpi).",
    )(function)
    return click.option(
        "--dpi", type=click.IntRange(50, 600), default=100, show_default=True, help="Dots per inch."
    )(function)


def figure_size(text: str, dpi: int) -> Size:
    """`--size WxH` at `--dpi`; bad input unless both sides are in range."""
    from hw3tui.results.figures import Size

    match = SIZE.match(text)
    if match is None or not (200 <= int(match[1]) <= 8000 and 150 <= int(match[2]) <= 8000):
        raise BadInput(f"--size {text}: expected WIDTHxHEIGHT in pixels, e.g. 960x600")
    return Size(int(match[1]), int(match[2]), dpi)


def lang_option(function: Callable[..., None]) -> Callable[..., None]:
    """`--lang`: the command runs in that language (`hw3tui.results.i18n.language`: the
    findings' sentences and report.md's texts). The command gets no `lang` argument; an unknown
    one is refused (exit 2, one line naming the available ones) before the command starts."""
    from hw3tui.results.i18n import LANGUAGES, language

    @functools.wraps(function)
    def in_language(*args: Any, lang: str, **kwargs: Any) -> None:
        with language(lang):
            function(*args, **kwargs)

    return click.option(
        "--lang",
        default="en",
        show_default=True,
        metavar="LANG",
        help=f"Language of the sentences and headings: {', '.join(LANGUAGES)}.",
    )(in_language)
