"""`hw3tui predict`: one row per image of a folder, ready to hand in.

    images = list_images(folder)                      # natural order: 2.jpg before 10.jpg
    rows = predict_images(trained, images, tta=True)  # eval transforms; flip TTA when asked
    text = predictions_csv(rows, trained.classes, id_column="Id", label_column="Category")

The images go through the same path as `eval`: decoded as the training data is (shorter side
resized, centre crop), the engine's evaluation transforms and its `evaluate` loop.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from hw3tui.engine.data.datasets import Split, check_header
from hw3tui.engine.data.sources import IMAGE_SUFFIXES, natural_key
from hw3tui.engine.hardware.runtime import cpu_count
from hw3tui.engine.inference.evaluation import Recording, Seen, Trained, eval_job, run_through
from hw3tui.errors import ImagesError as ImagesError  # defined with its family
from hw3tui.regular import why_not_regular
from hw3tui.untrusted import printable, spreadsheet_cell

LabelForm = Literal["index", "name"]


@dataclass(frozen=True)
class Prediction:
    """One image's row: its id (the file stem), the predicted class and the model's confidence
    (its softmax probability; with flip TTA, the mean over the image and its mirror image)."""

    id: str
    path: Path
    index: int
    confidence: float


def list_images(folder: Path) -> list[Path]:
    """The image files directly in `folder`, in natural order of their names. ImagesError when
    there are none, when an entry named as an image is no file to read (a dangling link, a
    folder, a FIFO, a link loop: every one is named, since a hand-in missing its Ids is worse than
    none), or when two files would get the same id (`3.jpg` and `3.png`)."""
    where = printable(folder)
    if not folder.exists():
        raise ImagesError(f"{where}: no such folder")
    if not folder.is_dir():
        raise ImagesError(f"{where}: not a folder (predict reads a folder of images)")
    try:
        entries = list(folder.iterdir())
    except OSError as exc:
        raise ImagesError(f"{where}: cannot list it: {exc.strerror}") from None
    named = [
        p for p in entries if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    ]
    unreadable = {p: why for p in named if (why := why_not_regular(p)) is not None}
    if unreadable:
        ordered = sorted(unreadable, key=lambda p: (natural_key(p.stem), p.suffix.lower()))
        listed = ", ".join(f"{p.name} ({unreadable[p]})" for p in ordered)
        count = f"{len(ordered)} entries" if len(ordered) > 1 else "an entry"
        raise ImagesError(
            printable(
                f"{folder}: {count} named as images {'are' if len(ordered) > 1 else 'is'} not "
                f"image files: {listed}; remove or replace them"
            )
        )
    images = named
    if not images:
        folders = sum(1 for p in entries if p.is_dir() and not p.name.startswith("."))
        hint = f" (it holds {folders} folders: give the folder of images itself)" if folders else ""
        raise ImagesError(f"{where}: no images{hint}")
    images.sort(key=lambda p: (natural_key(p.stem), p.suffix.lower()))
    seen: dict[str, Path] = {}
    for image in images:
        if image.stem in seen:
            raise ImagesError(
                printable(
                    f"{folder}: {seen[image.stem].name} and {image.name} would both be Id "
                    f"'{image.stem}'; keep one of them"
                )
            )
        seen[image.stem] = image
    return images


def check_readable(images: Sequence[Path]) -> None:
    """Open every image's header before any is predicted: a DataError names the first bad one,
    rather than failing minutes into a long folder."""
    # PIL releases the GIL while reading files, so a few threads go faster
    with ThreadPoolExecutor(max(1, cpu_count())) as pool:
        list(pool.map(check_header, images))


def predict_images(
    trained: Trained, images: Sequence[Path], *, tta: bool = False, seen: Seen | None = None
) -> list[Prediction]:
    """The checkpoint's class for each image, in the order given."""
    check_readable(images)
    size = trained.preset.data.image_size
    labels = torch.zeros(len(images), dtype=torch.int64)  # unknown: evaluate's loss is unused
    split = Split(labels, size, files=tuple(images))
    job = eval_job(trained, split, description=f"{len(images)} images")
    recording = Recording(job.model, total=len(images), flip=tta, seen=seen)
    run_through(job, recording)
    confidence, index = recording.probabilities().max(1)
    return [
        Prediction(path.stem, path, int(i), float(c))
        for path, i, c in zip(images, index.tolist(), confidence.tolist(), strict=True)
    ]


def predictions_csv(
    rows: Sequence[Prediction],
    classes: Sequence[str],
    *,
    id_column: str = "Id",
    label_column: str = "Category",
    labels: LabelForm = "name",
) -> str:
    """The CSV to hand in: a header, then one `id,label` row per prediction, in order. Ids (file
    names) and class names are escaped (`spreadsheet_cell`): someone else chose them, and a
    spreadsheet would run `=...` as a formula."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([spreadsheet_cell(id_column), spreadsheet_cell(label_column)])
    names = [spreadsheet_cell(name) for name in classes]
    for row in rows:
        cells = [spreadsheet_cell(row.id), row.index if labels == "index" else names[row.index]]
        writer.writerow(cells)
    return out.getvalue()
