"""A run's stored evaluation: its best checkpoint on its own val set, kept in the run folder.

    eval/<key>.json    the evaluation report (`hw3tui eval --json`'s), every val image's true and
                       predicted class (data order) and the misclassified examples' classes
    eval/<key>.npy     those examples' pixels, uint8 (N, H, W, 3), as the model saw them

`key` is the SHA-256 of best/SHA256SUMS: a new best checkpoint (new sums) has another key, so an
old evaluation is never taken for it. `report` and `plot` evaluate a run once and read it back
after. The files are written atomically and, as every file of a run folder, read as someone
else's: a file that is not exactly what `write_evaluation` writes (a wrong type, NaN, a huge
number, counts that do not add up) reads as none, and the run is evaluated again. No torch here.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hw3tui.atomic import write_bytes_atomic, write_text_atomic
from hw3tui.regular import read_regular
from hw3tui.runs.folder import RunDir
from hw3tui.runs.numbers import LARGEST_INT, as_float, as_int

if TYPE_CHECKING:
    import numpy as np

FORMAT = 1
EVAL_DIR = "eval"
SUMS_FILE = "SHA256SUMS"
KEY = re.compile(r"^[0-9a-f]{64}$")
MAX_SUMS_BYTES = 1 << 20
MAX_JSON_BYTES = 256 << 20
"""Room for a few million val images' two class indices."""
MAX_IMAGES_BYTES = 256 << 20
MAX_CLASSES = 100_000
VAL_SET = re.compile("[0-9a-f]{64}")
"""A val-set fingerprint as stored: anything else is read as unknown."""


@dataclass(frozen=True)
class StoredEvaluation:
    """What one evaluation of a run's best checkpoint on its val set found."""

    report: dict[str, Any]
    """`EvalReport.as_json()`: classes, confusion, accuracy, loss, checkpoint, data, ..."""
    labels: list[int]
    """Every val image's true class index, in data order."""
    predicted: list[int]
    """Every val image's predicted class index, in data order."""
    mistakes_true: list[str]
    mistakes_predicted: list[str]
    mistakes_total: int
    images: np.ndarray
    """The misclassified examples, uint8 (N, H, W, 3)."""
    val_set: str = ""
    """The engine's fingerprint of the val split (hex SHA-256; "" when not known): what
    `compare --explain` checks before it compares two runs image by image."""


def checkpoint_key(run: RunDir) -> str | None:
    """The SHA-256 of the run's best/SHA256SUMS and its preset.yaml; None without a checkpoint
    (no best, or an older kind). The preset is in the key because it says which images the val
    set is (data, split, seed): a copied run given another seed keeps best/ but not its val set."""
    try:
        sums = read_regular(run.best_dir / SUMS_FILE, limit=MAX_SUMS_BYTES, follow_symlinks=False)
    except OSError:
        return None
    digest = hashlib.sha256(sums)
    with contextlib.suppress(OSError):  # a run without its preset evaluates against its own
        digest.update(b"\0" + read_regular(run.preset_file, limit=MAX_SUMS_BYTES))
    return digest.hexdigest()


def evaluation_files(run: RunDir, key: str) -> tuple[Path, Path]:
    """The JSON and pixel files of the evaluation stored under `key`."""
    folder = run.path / EVAL_DIR
    return folder / f"{key}.json", folder / f"{key}.npy"


def read_evaluation(run: RunDir, key: str) -> StoredEvaluation | None:
    """The evaluation stored under `key`; None when there is none or it is not one to trust."""
    if not KEY.match(key):
        return None
    data_file, images_file = evaluation_files(run, key)
    try:
        text = read_regular(data_file, limit=MAX_JSON_BYTES, follow_symlinks=False)
        pixels = read_regular(images_file, limit=MAX_IMAGES_BYTES, follow_symlinks=False)
        data = json.loads(text, parse_constant=_no_constant)
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
        return None
    return _checked(data, _images(pixels))


def write_evaluation(run: RunDir, key: str, stored: StoredEvaluation) -> None:
    """Keep `stored` under `key` (pixels first, then the JSON that makes it count), and remove
    the evaluations of earlier best checkpoints. An OSError (DiskFull, a read-only folder) is
    the caller's: the evaluation is still good, only not kept."""
    import numpy as np

    if not KEY.match(key):
        raise ValueError(f"not a checkpoint key: {key!r}")
    data_file, images_file = evaluation_files(run, key)
    data_file.parent.mkdir(exist_ok=True)
    if data_file.parent.is_symlink():  # someone's eval/ pointing elsewhere is never written to
        raise NotADirectoryError(f"{data_file.parent}: a link, not the run's own folder")
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(stored.images, dtype=np.uint8), allow_pickle=False)
    write_bytes_atomic(images_file, buffer.getbuffer())
    record = {
        "format": FORMAT,
        "key": key,
        "report": stored.report,
        "labels": stored.labels,
        "predicted": stored.predicted,
        "val_set": stored.val_set,
        "mistakes": {
            "true": stored.mistakes_true,
            "predicted": stored.mistakes_predicted,
            "total": stored.mistakes_total,
        },
    }
    write_text_atomic(data_file, json.dumps(record, separators=(",", ":"), allow_nan=False))
    for old in data_file.parent.iterdir():
        if old.suffix in (".json", ".npy") and KEY.match(old.stem) and old.stem != key:
            with contextlib.suppress(OSError):
                old.unlink()


# --- checking what was read -------------------------------------------------------------------


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number an evaluation writes")


def _images(pixels: bytes) -> np.ndarray | None:
    import numpy as np

    try:
        images = np.load(io.BytesIO(pixels), allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
        return None
    if images.ndim != 4 or images.shape[-1] != 3:
        return None
    return images


def _ints(value: Any, below: int) -> list[int] | None:
    if not isinstance(value, list):
        return None
    numbers = [as_int(v) for v in value]
    if any(n is None or not 0 <= n < below for n in numbers):
        return None
    return [n for n in numbers if n is not None]


def _names(value: Any, known: set[str]) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v in known for v in value):
        return None
    return list(value)


def _checked(data: dict[str, Any], images: np.ndarray | None) -> StoredEvaluation | None:
    """`data` as a `StoredEvaluation` when every count adds up; None otherwise."""
    report, mistakes = data.get("report"), data.get("mistakes")
    if images is None or not isinstance(report, dict) or not isinstance(mistakes, dict):
        return None
    classes, confusion = report.get("classes"), report.get("confusion")
    if not isinstance(classes, list) or not 0 < len(classes) <= MAX_CLASSES:
        return None
    if not all(isinstance(c, str) for c in classes) or len(set(classes)) != len(classes):
        return None
    count = len(classes)
    if not isinstance(confusion, list) or len(confusion) != count:
        return None
    rows = [_ints(row, LARGEST_INT) for row in confusion]
    if any(row is None or len(row) != count for row in rows):
        return None
    labels, predicted = _ints(data.get("labels"), count), _ints(data.get("predicted"), count)
    if labels is None or predicted is None or len(labels) != len(predicted):
        return None
    # the matrix must be the one its images make, and the accuracy its diagonal's share
    counted = [[0] * count for _ in range(count)]
    for true, guess in zip(labels, predicted, strict=True):
        counted[true][guess] += 1
    if counted != rows:
        return None
    correct = sum(1 for true, guess in zip(labels, predicted, strict=True) if true == guess)
    accuracy, loss = as_float(report.get("accuracy")), report.get("loss")
    if accuracy is None or not labels or abs(accuracy - correct / len(labels)) > 1e-9:
        return None
    if loss is not None and as_float(loss) is None:
        return None
    known = set(classes)
    shown = _names(mistakes.get("true"), known)
    guessed = _names(mistakes.get("predicted"), known)
    total = as_int(mistakes.get("total"))
    if shown is None or guessed is None or total != len(labels) - correct:
        return None
    if not len(shown) == len(guessed) == images.shape[0] <= total:
        return None
    clean = {
        **report,
        "checkpoint": _plain(report.get("checkpoint")),
        "recorded": _recorded(report.get("recorded")),
        "data": report.get("data") if isinstance(report.get("data"), str) else "",
        "run": report.get("run") if isinstance(report.get("run"), str) else None,
        "device": report.get("device") if isinstance(report.get("device"), str) else "",
    }
    val_set = data.get("val_set")
    val_set = val_set if isinstance(val_set, str) and VAL_SET.fullmatch(val_set) else ""
    return StoredEvaluation(clean, labels, predicted, shown, guessed, total, images, val_set)


def _plain(value: Any) -> dict[str, Any]:
    """A flat record's text and numbers (anything else, a NaN or a nested object, left out)."""
    if not isinstance(value, dict):
        return {}
    kept: dict[str, Any] = {}
    for name, item in value.items():
        if item is None or isinstance(item, str) or as_float(item) is not None:
            kept[str(name)] = item
    return kept


def _recorded(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict) or as_int(value.get("epoch")) is None:
        return None
    return {
        "epoch": value["epoch"],
        "val_acc": as_float(value.get("val_acc")),
        "val_loss": as_float(value.get("val_loss")),
    }
