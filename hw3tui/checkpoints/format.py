"""The checkpoint format: a safetensors stream with hw3tui's metadata, checked before it is trusted.

A safetensors file is an 8-byte little-endian header length, a JSON header (tensor name ->
dtype, shape, data_offsets; plus `__metadata__`, str -> str), then the tensors' bytes. Checkpoints
come from other people, so the header is checked here, in full, before any tensor is read: size
caps, strict JSON without duplicate names, known dtypes only, byte counts that match the shapes,
offsets that tile the data exactly, and metadata that is plain text (no control character: class
names and the rest are printed, and a terminal would obey an escape sequence hidden in them).
No torch here: `hw3tui verify` and `join` use this module.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import hw3tui
from hw3tui.errors import CheckpointError as CheckpointError  # defined with its family
from hw3tui.untrusted import control_character, printable

MiB = 1024 * 1024
SUMS_FILE = "SHA256SUMS"
"""The manifest's name; it does not match the chunks' glob `NAME.*`."""
MAX_HEADER_BYTES = 16 * MiB
"""A resnet50's header is 29 KB; 16 MiB is room for ~200,000 tensors."""

DTYPE_SIZES: dict[str, int] = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "I16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "F32": 4,
    "I64": 8,
    "F64": 8,
}
"""The dtypes a checkpoint may hold (safetensors code -> bytes per element); others are refused."""

MAX_DIMS = 16

_LAYOUT_RANK: tuple[str, ...] = (
    "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "F16", "BF16", "I32", "F32", "F64", "I64"
)  # fmt: skip
"""safetensors' own dtype order (its Rust enum); data is laid out from the last to the first."""


def _at(source: str) -> str:
    """Messages start with where the checkpoint is (the caller may add it itself: "")."""
    return f"{printable(source)}: " if source else ""


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint says about itself (its safetensors metadata)."""

    preset: str
    backbone: str
    epoch: int
    metric: str
    value: float
    classes: list[str]
    version: str = hw3tui.__version__
    image_size: int | None = None
    """Side of the square images the model was trained on (`hw3tui eval`/`predict` of a shared
    checkpoint need it); None in hw3tui 0.1.0's first checkpoints, written before it was recorded
    and still shared: those are read, and eval/predict of one alone ask for `--image-size`."""

    def to_metadata(self) -> dict[str, str]:
        """The safetensors `__metadata__` (values must be str); classes as JSON text."""
        metadata = {
            "format": "pt",  # what Hugging Face tools expect of a PyTorch safetensors file
            "hw3tui_version": self.version,
            "preset": self.preset,
            "backbone": self.backbone,
            "epoch": str(self.epoch),
            "metric": self.metric,
            "value": repr(float(self.value)),
            "classes": json.dumps(list(self.classes), ensure_ascii=False),
        }
        if self.image_size is not None:
            metadata["image_size"] = str(self.image_size)
        return metadata

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str], source: str) -> CheckpointInfo:
        """Read back `to_metadata`'s output; CheckpointError naming what is missing or wrong."""
        keys = ("hw3tui_version", "preset", "backbone", "epoch", "metric", "value", "classes")
        missing = [key for key in keys if key not in metadata]
        if missing:
            raise CheckpointError(
                f"{_at(source)}not an hw3tui checkpoint (its metadata lacks {', '.join(missing)})"
            )
        try:
            epoch = int(metadata["epoch"])
            value = float(metadata["value"])
            classes = json.loads(metadata["classes"])
            # optional: 0.1.0's first checkpoints do not record it (see `image_size` above)
            image_size = int(metadata["image_size"]) if "image_size" in metadata else None
        except ValueError as exc:
            raise CheckpointError(f"{_at(source)}unreadable checkpoint metadata ({exc})") from None
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            raise CheckpointError(f"{_at(source)}metadata 'classes' is not a JSON list of names")
        return cls(
            preset=metadata["preset"],
            backbone=metadata["backbone"],
            epoch=epoch,
            metric=metadata["metric"],
            value=value,
            classes=classes,
            version=metadata["hw3tui_version"],
            image_size=image_size if image_size is not None and image_size > 0 else None,
        )


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of a header: where its bytes are, relative to the start of the data."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


@dataclass(frozen=True)
class Header:
    """A checked safetensors header."""

    header_bytes: int
    """Length of the JSON header (the file starts with 8 bytes giving it)."""
    data_bytes: int
    """Length of the tensor data after the header."""
    tensors: tuple[TensorEntry, ...]
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def data_start(self) -> int:
        return 8 + self.header_bytes

    @property
    def total_bytes(self) -> int:
        """Length of the whole file the header describes."""
        return self.data_start + self.data_bytes


def header_length(prefix: bytes | bytearray | memoryview, source: str) -> int:
    """The JSON header's length, read from the first 8 bytes (checked against the cap)."""
    if len(prefix) < 8:
        raise CheckpointError(
            f"{_at(source)}too short to be a safetensors file ({len(prefix)} bytes)"
        )
    length = int.from_bytes(bytes(prefix[:8]), "little")
    if length < 2 or length > MAX_HEADER_BYTES:
        raise CheckpointError(
            f"{_at(source)}not a safetensors file (its header length, {length} bytes, is not "
            f"plausible; at most {MAX_HEADER_BYTES // MiB} MiB)"
        )
    return length


def parse_header(
    prefix: bytes | bytearray | memoryview, source: str, *, file_bytes: int | None
) -> Header:
    """Check a safetensors header; `prefix` holds at least the first 8 + header-length bytes.

    `file_bytes`: the whole file's length when known; the tensors must then fill it exactly (as
    safetensors itself requires). CheckpointError with a one-line reason otherwise.
    """
    length = header_length(prefix, source)
    if file_bytes is not None and 8 + length > file_bytes:
        raise CheckpointError(
            f"{_at(source)}truncated: its header alone needs {8 + length} bytes, "
            f"the file has {file_bytes}"
        )
    if len(prefix) < 8 + length:
        raise CheckpointError(f"{_at(source)}truncated inside its header")
    try:
        text = bytes(prefix[8 : 8 + length]).decode("utf-8")
        raw = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(f"{_at(source)}not a safetensors file (bad header: {exc})") from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{_at(source)}not a safetensors file (header is not a JSON object)")
    metadata = _metadata(raw.pop("__metadata__", {}), source)
    tensors = tuple(_entry(name, spec, source) for name, spec in raw.items())
    data_bytes = _check_tiling(tensors, source)
    if file_bytes is not None and 8 + length + data_bytes != file_bytes:
        actual = file_bytes - 8 - length
        what = "truncated" if actual < data_bytes else "has trailing bytes"
        raise CheckpointError(
            f"{_at(source)}{what}: the header describes {data_bytes} bytes of tensor data, "
            f"the file holds {actual}"
        )
    return Header(length, data_bytes, tensors, metadata)


def build_header(
    entries: Sequence[tuple[str, str, Sequence[int]]], metadata: Mapping[str, str]
) -> tuple[bytes, list[TensorEntry]]:
    """The 8-byte length + JSON header for tensors `(name, dtype, shape)`, and their layout.

    Laid out as safetensors lays them out (by its dtype order, largest elements first, then by
    name, so every tensor is aligned to its element size), with the header padded with spaces to
    a multiple of 8 bytes. The data bytes equal `safetensors.torch.save`'s for the same tensors
    (its metadata order is a hash map's, so the headers can differ in that order only).
    """
    ordered = sorted(entries, key=lambda e: (-_LAYOUT_RANK.index(e[1]), e[0]))
    layout: list[TensorEntry] = []
    offset = 0
    for name, dtype, shape in ordered:
        nbytes = math.prod(shape) * DTYPE_SIZES[dtype]
        layout.append(TensorEntry(name, dtype, tuple(shape), offset, offset + nbytes))
        offset += nbytes
    header: dict[str, Any] = {"__metadata__": dict(metadata)} if metadata else {}
    for entry in layout:
        header[entry.name] = {
            "dtype": entry.dtype,
            "shape": list(entry.shape),
            "data_offsets": [entry.begin, entry.end],
        }
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text, layout


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate name {key!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _metadata(raw: Any, source: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise CheckpointError(f"{_at(source)}header's __metadata__ must map text to text")
    for key, value in raw.items():
        for text in (key, value, *_class_names(key, value)):
            if (found := control_character(text)) is not None:
                raise CheckpointError(
                    f"{_at(source)}metadata '{printable(key)}' holds a control character "
                    f"({found}), refused: it could drive the terminal it is shown on"
                )
    return dict(raw)


def _class_names(key: str, value: str) -> list[str]:
    """The names in `classes` (JSON can spell a control character `\\u001b`); [] when it is not
    a list of names (`CheckpointInfo.from_metadata` says so)."""
    if key != "classes":
        return []
    try:
        names = json.loads(value)
    except ValueError:
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def _entry(name: str, spec: Any, source: str) -> TensorEntry:
    def bad(why: str) -> CheckpointError:
        return CheckpointError(f"{_at(source)}tensor {name!r}: {why}")

    if not name:
        raise bad("empty name")
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data_offsets"}:
        raise bad("header entry must have exactly dtype, shape and data_offsets")
    dtype, shape, offsets = spec["dtype"], spec["shape"], spec["data_offsets"]
    if dtype not in DTYPE_SIZES:
        allowed = ", ".join(DTYPE_SIZES)
        raise bad(f"dtype {dtype!r} is not allowed (allowed: {allowed})")
    if not isinstance(shape, list) or len(shape) > MAX_DIMS or not all(_natural(d) for d in shape):
        raise bad(f"shape {shape!r} is not a list of at most {MAX_DIMS} sizes")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_natural(o) for o in offsets):
        raise bad(f"data_offsets {offsets!r} is not [begin, end]")
    begin, end = offsets
    expected = math.prod(shape) * DTYPE_SIZES[dtype]
    if end - begin != expected:
        raise bad(
            f"shape {shape} of {dtype} needs {expected} bytes, data_offsets give {end - begin}"
        )
    return TensorEntry(name, dtype, tuple(shape), begin, end)


def _natural(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_tiling(tensors: Sequence[TensorEntry], source: str) -> int:
    """The tensors' bytes must follow one another from 0 with no gap and no overlap."""
    position = 0
    for entry in sorted(tensors, key=lambda e: (e.begin, e.end)):
        if entry.begin != position:
            why = "overlaps another" if entry.begin < position else "leaves a gap before it"
            raise CheckpointError(f"{_at(source)}tensor {entry.name!r}: its data {why}")
        position = entry.end
    return position
