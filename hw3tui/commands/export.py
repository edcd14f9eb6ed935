"""`hw3tui export RUN|CHECKPOINT --format onnx|pt2|pth -o FILE`: a trained model for other programs.

Each file is checked before it is kept: read back as its users read it and run on a batch of the
run's val images, its logits must agree with the checkpoint's within 1e-4 (the difference is
printed), else nothing is written and the exit is 1. `FILE.json` beside it names the classes and
the preprocessing. torch is imported only once the arguments are checked.
"""

from __future__ import annotations

from pathlib import Path

import click

from hw3tui import exits
from hw3tui.commands.options import runs_dir_option
from hw3tui.commands.results import TARGET_HELP, _trained, _writable
from hw3tui.errors import BadInput
from hw3tui.untrusted import printable


@click.command(epilog=TARGET_HELP)
@click.argument("target", metavar="RUN|CHECKPOINT")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["onnx", "pt2", "pth"]),
    required=True,
    help="onnx (dynamic batch axis; needs hw3tui[export]), pt2 (a torch.export program: "
    "torch.export.load(f).module()) or pth (a plain state_dict for torch.load(f, "
    "weights_only=True) into torchvision's model).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="File to write (FILE.json is written beside it); replaced whole or not at all.",
)
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=None,
    help="Labelled images to check the export on (default: the run's own val set; a checkpoint "
    "without its run needs it).",
)
@click.option(
    "--image-size",
    type=click.IntRange(16, 1024),
    default=None,
    help="Side of the images the model sees (default: the run's, or the checkpoint's).",
)
@runs_dir_option()
def export(
    target: str,
    fmt: str,
    output: Path,
    data: Path | None,
    image_size: int | None,
    runs_dir: Path | None,
) -> None:
    """Write a trained model as ONNX, a torch.export program or a plain state_dict, checked.

    The model is exported in fp32 on the CPU and checked on a batch of the run's val images:
    its logits must agree with the checkpoint's within 1e-4. Exit codes: 0 written, 1 the check
    failed (nothing written), 2 bad input.
    """
    if str(output) == "-":
        raise BadInput("-o -: name a file (the export is binary)")
    _writable(output, "-o")
    if data is not None and not data.exists():
        raise BadInput(f"--data {data}: no such file or folder")
    trained = _trained(target, runs_dir, image_size, "cpu")
    from hw3tui.engine.inference import export as exporting

    try:
        done = exporting.export_checkpoint(trained, fmt, output, data=data)  # type: ignore[arg-type]
    except exporting.ExportMismatch as exc:
        click.echo(f"error: {printable(str(exc))}", err=True)
        raise SystemExit(exits.FAILED) from None
    click.echo(
        printable(
            f"checked on {done.images} val images with {done.checked_with}: max |logit "
            f"difference| {done.max_diff:.2e} (at most {exporting.TOLERANCE:g})"
        )
    )
    click.echo(printable(f"wrote {done.path} and {done.sidecar}"))
