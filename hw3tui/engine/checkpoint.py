"""Best checkpoints: written atomically in checksummed chunks, checked in full before use.

    write_best(model.state_dict(), run.best_dir, info, chunk_mb=45)   # the engine, on a new best
    state_dict, info = load_checkpoint(path)    # a run dir, best/, a chunk prefix, a joined file
    check_against_model(state_dict, model)      # CheckpointError naming what does not fit
    model.load_state_dict(state_dict, strict=True)

Checkpoints come from classmates and from killed runs: every load checks the checksums (when a
SHA256SUMS is there) and the safetensors header (sizes, names, dtypes, offsets) before a single
tensor is built, and nothing is ever unpickled. The byte-level work needs no torch and lives in
`hw3tui.checkpoints`: the header and metadata in `checkpoints.format`, the chunk writer and
SHA256SUMS in `checkpoints.writer`, finding the files in `checkpoints.locate`, the checksum and
header check in `checkpoints.verify`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from hw3tui.atomic import replace_dir
from hw3tui.checkpoints.format import (
    DTYPE_SIZES,
    CheckpointError,
    CheckpointInfo,
    Header,
    MiB,
    build_header,
)
from hw3tui.checkpoints.locate import Source
from hw3tui.checkpoints.verify import Report, checked, read_header, scan
from hw3tui.checkpoints.writer import write_stream
from hw3tui.errors import one_line

__all__ = [
    "DEFAULT_MAX_BYTES",
    "CheckpointError",
    "CheckpointInfo",
    "Mismatch",
    "best_name",
    "check_against_model",
    "compare_with_model",
    "load_checkpoint",
    "load_weights",
    "read_info",
    "write_best",
    "write_safetensors",
]

DEFAULT_MAX_BYTES = 8 * 1024 * MiB
"""Largest checkpoint read into memory by default (torchvision's largest classifier is ~2.6 GB)."""

_CODES: dict[torch.dtype, str] = {
    torch.bool: "BOOL",
    torch.uint8: "U8",
    torch.int8: "I8",
    torch.int16: "I16",
    torch.int32: "I32",
    torch.int64: "I64",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float32: "F32",
    torch.float64: "F64",
    torch.float8_e4m3fn: "F8_E4M3",
    torch.float8_e5m2: "F8_E5M2",
}
_DTYPES = {code: dtype for dtype, code in _CODES.items()}
assert set(_DTYPES) == set(DTYPE_SIZES)


def best_name(backbone: str) -> str:
    """The joined file's name: `<backbone>_best.safetensors` (chunks add .000, .001, ...)."""
    return f"{backbone}_best.safetensors"


# --- writing ----------------------------------------------------------------------------------


def write_best(
    state_dict: Mapping[str, torch.Tensor], best_dir: Path, info: CheckpointInfo, *, chunk_mb: float
) -> Path:
    """Atomically replace the checkpoint in best_dir: <backbone>_best.safetensors.000, .001, ...
    and SHA256SUMS. Returns best_dir/<backbone>_best.safetensors (the path `cat` rebuilds).
    Makes tensors contiguous/CPU itself; at most one extra copy of the model in memory.

    The safetensors stream is written straight from the tensors' memory, one tensor at a time
    (a channels_last or GPU tensor is copied just before it is written), so the extra memory is
    usually one tensor, not one model."""
    if not chunk_mb > 0:
        raise ValueError(f"chunk_mb must be positive, not {chunk_mb}")
    total, pieces = _stream(state_dict, info.to_metadata())
    name = best_name(info.backbone)
    best_dir = Path(best_dir)
    chunk_bytes = max(1, int(chunk_mb * MiB))
    with replace_dir(best_dir) as staging:
        write_stream(pieces, staging, name, chunk_bytes=chunk_bytes, total_bytes=total)
    return best_dir / name


def write_safetensors(
    state_dict: Mapping[str, torch.Tensor], path: Path, metadata: Mapping[str, str] | None = None
) -> None:
    """One plain safetensors file, streamed from the tensors like `write_best` (not atomic: write
    it into a staged folder). Unlike safetensors' own writer, a full disk raises an `OSError`
    with its errno, so callers can say which write filled it."""
    _, pieces = _stream(state_dict, metadata or {})
    with Path(path).open("wb") as out:
        for piece in pieces:
            out.write(piece)


def _stream(
    state_dict: Mapping[str, torch.Tensor], metadata: Mapping[str, str]
) -> tuple[int, Iterator[memoryview | bytes]]:
    """The safetensors bytes of `state_dict`: their length, and the pieces, one tensor at a time."""
    _check_byte_order()
    entries: list[tuple[str, str, tuple[int, ...]]] = []
    for name, tensor in state_dict.items():
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"state_dict[{name!r}] is a {type(tensor).__name__}, not a tensor")
        code = _CODES.get(tensor.dtype)
        if name == "__metadata__" or not name:
            raise CheckpointError(f"cannot save a tensor named {name!r}")
        if code is None:
            raise CheckpointError(f"cannot save {name!r}: dtype {tensor.dtype} is not supported")
        entries.append((name, code, tuple(tensor.shape)))
    header, layout = build_header(entries, metadata)

    def pieces() -> Iterator[memoryview | bytes]:
        yield header
        for entry in layout:
            yield _tensor_bytes(state_dict[entry.name])

    return len(header) + (layout[-1].end if layout else 0), pieces()


def _tensor_bytes(tensor: torch.Tensor) -> memoryview:
    tensor = tensor.detach()
    if tensor.device.type != "cpu":
        tensor = tensor.to("cpu")
    tensor = tensor.contiguous()  # channels_last weights are not: safetensors needs C order
    if tensor.numel() == 0:
        return memoryview(b"")
    return tensor.reshape(-1).view(torch.uint8).numpy().data


def _check_byte_order() -> None:
    if sys.byteorder != "little":  # safetensors is little-endian; tensors are native-endian
        raise CheckpointError("checkpoints can only be written and read on little-endian machines")


# --- reading ----------------------------------------------------------------------------------


def load_checkpoint(
    path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[dict[str, torch.Tensor], CheckpointInfo]:
    """path: a run dir, a best/ dir, a chunk prefix, or a joined .safetensors file. Verifies the
    checksums (when a SHA256SUMS is there) and the header before reading tensors; CheckpointError.
    """
    tensors, header, source = _load_safetensors(Path(path), max_bytes)
    return tensors, CheckpointInfo.from_metadata(header.metadata, source.describe())


def read_info(path: Path) -> CheckpointInfo:
    """A checkpoint's metadata from its header alone (no tensors read, no checksums checked)."""
    source, header = read_header(Path(path))
    return CheckpointInfo.from_metadata(header.metadata, source.describe())


def load_weights(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, torch.Tensor]:
    """Weights for `backbone.pretrained: PATH`: anything `load_checkpoint` reads (hw3tui metadata
    not required), or a torchvision `.pth`/`.pt` file read with `torch.load(weights_only=True)`
    (no arbitrary unpickling). CheckpointError with a one-line reason otherwise."""
    path = Path(path)
    if path.suffix.lower() not in (".pth", ".pt", ".bin") or not path.is_file():
        return _load_safetensors(path, max_bytes)[0]
    size = path.stat().st_size
    if size > max_bytes:
        raise CheckpointError(f"{path}: {size} bytes, more than the {max_bytes} allowed")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError for anything but plain tensors, RuntimeError, ...
        raise CheckpointError(
            f"{path}: not a weights file torch can read safely ({one_line(exc)})"
        ) from None
    if isinstance(loaded, dict):
        for wrapper in ("state_dict", "model"):  # common {"state_dict": {...}} wrappers
            inner = loaded.get(wrapper)
            if isinstance(inner, dict) and len(loaded) <= 4:
                loaded = inner
                break
    if not isinstance(loaded, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in loaded.items()
    ):
        raise CheckpointError(f"{path}: not a state_dict (a mapping of names to tensors)")
    return dict(loaded)


def _load_safetensors(path: Path, max_bytes: int) -> tuple[dict[str, torch.Tensor], Header, Source]:
    _check_byte_order()
    buffers: list[bytearray] = []

    def allocate(size: int) -> bytearray:
        if size > max_bytes:
            raise CheckpointError(f"{path}: {size} bytes, more than the {max_bytes} allowed")
        buffers[:] = [bytearray(size)]
        return buffers[0]

    def attempt(source: Source) -> Report:
        return scan(source, into=allocate, check_joined=False)

    report = checked(path, attempt)
    if not report.ok or report.header is None:
        problems = "; ".join(report.problems) or "unreadable"
        raise CheckpointError(f"{report.source.describe()}: {problems}")
    return _tensors(buffers[0], report.header), report.header, report.source


def _tensors(buffer: bytearray, header: Header) -> dict[str, torch.Tensor]:
    """Tensors over the checked buffer, without copying (misaligned ones are copied)."""
    tensors: dict[str, torch.Tensor] = {}
    for entry in header.tensors:
        dtype = _DTYPES[entry.dtype]
        offset = header.data_start + entry.begin
        nbytes = entry.end - entry.begin
        if nbytes == 0:
            tensors[entry.name] = torch.empty(entry.shape, dtype=dtype)
            continue
        raw = torch.frombuffer(buffer, dtype=torch.uint8, count=nbytes, offset=offset)
        if offset % DTYPE_SIZES[entry.dtype]:
            raw = raw.clone()
        tensors[entry.name] = raw.view(dtype).reshape(entry.shape)
    return tensors


# --- fitting a model --------------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    """How a state_dict differs from a model's own (names and shapes)."""

    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    shapes: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=dict)
    """name -> (shape in the checkpoint, shape in the model)."""

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.shapes)

    @property
    def classes(self) -> tuple[int, int] | None:
        """(checkpoint's classes, model's classes) when only the classifier's size differs."""
        if self.missing or self.unexpected or not self.shapes:
            return None
        pairs = set()
        for saved, wanted in self.shapes.values():
            if len(saved) != len(wanted) or not saved or saved[1:] != wanted[1:]:
                return None
            pairs.add((saved[0], wanted[0]))
        return pairs.pop() if len(pairs) == 1 else None

    @property
    def head(self) -> list[str]:
        """The classifier's entries, when only they differ (to drop them, e.g. from pretrained
        weights for other classes)."""
        return list(self.shapes) if self.classes is not None else []

    def message(self) -> str:
        classes = self.classes
        if classes is not None:
            return f"checkpoint has {classes[0]} classes, the data has {classes[1]}"
        parts = []
        if self.missing:
            parts.append(f"{_count(self.missing, 'missing key')} ({_some(self.missing)})")
        if self.unexpected:
            parts.append(f"{_count(self.unexpected, 'unexpected key')} ({_some(self.unexpected)})")
        for name, (saved, wanted) in list(self.shapes.items())[:3]:
            parts.append(f"{name} is {list(saved)} in the checkpoint, {list(wanted)} in the model")
        if len(self.shapes) > 3:
            parts.append(f"{len(self.shapes) - 3} more shapes differ")
        return "checkpoint does not fit the model: " + "; ".join(parts)


def compare_with_model(state_dict: Mapping[str, torch.Tensor], model: torch.nn.Module) -> Mismatch:
    """What `model.load_state_dict(state_dict, strict=True)` would object to, and more clearly."""
    own = model.state_dict()
    return Mismatch(
        missing=[name for name in own if name not in state_dict],
        unexpected=sorted((name for name in state_dict if name not in own), key=_natural),
        shapes={  # in the model's order
            name: (tuple(state_dict[name].shape), tuple(tensor.shape))
            for name, tensor in own.items()
            if name in state_dict and tuple(state_dict[name].shape) != tuple(tensor.shape)
        },
    )


def check_against_model(state_dict: Mapping[str, torch.Tensor], model: torch.nn.Module) -> None:
    """CheckpointError naming missing/unexpected keys and shape mismatches; a clear message when
    only the classifier's class count differs ("checkpoint has 11 classes, the data has 5")."""
    mismatch = compare_with_model(state_dict, model)
    if mismatch:
        raise CheckpointError(mismatch.message())


def _natural(name: str) -> list[tuple[int, str]]:
    """Sort key: layer.10 after layer.9."""
    return [(int(part), "") if part.isdigit() else (-1, part) for part in name.split(".")]


def _count(names: list[str], what: str) -> str:
    return f"{len(names)} {what}{'' if len(names) == 1 else 's'}"


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:3])
    return shown + (", ..." if len(names) > 3 else "")
