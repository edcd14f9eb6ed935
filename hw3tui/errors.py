"""The one family of bad-input errors, and the one-line message of any exception.

Bad input (a preset, a sweep file, a run folder, a checkpoint, data, a device, a flag) raises a
subclass of `BadInput` where the problem is found. The CLI's group turns any of them into its
message and exit 2 (`hw3tui.exits.BAD_INPUT`); the TUI into a notification. Nothing matches an
error by its text: catch the class. Failures that are not the user's input (a run that crashed,
a full disk, a lost rank) are not in this family.

Several kinds were `ValueError`s before this family existed, and code still catches them as such
beside other `ValueError`s (e.g. `build_model`'s callers catch torchvision's unknown names and a
`WeightsError` in one clause): those stay `ValueError`s too. The root does not derive from
`ValueError`, so that `PresetError` and `RunLocked` (plain exceptions before) are not caught by a
`except ValueError` that never meant them.

Bottom layer: imports nothing of hw3tui, no torch.
"""

from __future__ import annotations


class BadInput(Exception):
    """Input that cannot be used: the message says what and where, one line per problem (a
    preset's problems are located, `file:line:col: field: message`). Exit 2, no traceback."""


class DataError(BadInput, ValueError):
    """Bad training data: one line saying what and where; the run does not start. File and class
    names in it are escaped (`printable`)."""


class WeightsError(BadInput, ValueError):
    """Pretrained weights that cannot be used: one line saying why and what to do."""


class DeviceError(BadInput, ValueError):
    """The preset asks for a device this machine does not have."""


class StateError(BadInput, ValueError):
    """Saved state that does not fit this run (a changed preset, a damaged folder)."""


class RunDirError(BadInput, ValueError):
    """A run directory that cannot be used for this (another run's, a live one, a finished one)."""


class RunLocked(BadInput):
    """The run directory is in use by a live engine."""


class NoSuchRun(BadInput, ValueError):
    """The argument names no run (and, for a checkpoint, nothing else either): one line."""


class StorageError(BadInput, ValueError):
    """A sweep's storage URL that cannot be used (unparsable, no driver, unreachable, refused),
    or a study that is not this sweep's: one line naming the URL without its password."""


class DistributedError(BadInput, ValueError):
    """A multi-process setup that cannot work, or a rank that could not start: bad input."""


class CheckpointError(BadInput, ValueError):
    """A checkpoint that cannot be used, with a one-line, user-facing message."""


class NoBestCheckpoint(CheckpointError):
    """A run folder that has no best checkpoint (yet): nothing to evaluate, join or verify."""


class EvalError(BadInput, ValueError):
    """Bad input to eval or predict, in one line."""


class ImagesError(BadInput, ValueError):
    """A folder that cannot be predicted on, in one line."""


class ReportFolderError(BadInput, ValueError):
    """-o DIR cannot take the report (one line saying why); nothing was written."""


def one_line(exc: BaseException) -> str:
    """The first line of `exc`'s message, or its class name when it has none: what a status,
    an event or one line on a terminal says of an error whose message may hold a traceback."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
