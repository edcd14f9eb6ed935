"""Best checkpoints: the chunked format, loading from every kind of PATH, and safe loading."""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import safetensors.torch
import torch
import torchvision
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hw3tui.checkpoints import verify as chunks
from hw3tui.checkpoints.format import MAX_HEADER_BYTES, SUMS_FILE
from hw3tui.checkpoints.verify import verify
from hw3tui.engine.checkpoint import (
    CheckpointError,
    CheckpointInfo,
    check_against_model,
    compare_with_model,
    load_checkpoint,
    load_weights,
    read_info,
    write_best,
)

INFO = CheckpointInfo(
    preset="tiny", backbone="mobilenet_v3_small", epoch=7, metric="val_acc", value=0.875,
    classes=["circle", "square", "triangle"],
)  # fmt: skip
NAME = "mobilenet_v3_small_best.safetensors"


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    net = torchvision.models.get_model("mobilenet_v3_small", num_classes=3)
    return net.to(memory_format=torch.channels_last)  # conv weights not contiguous


@pytest.fixture
def run(tmp_path: Path, model: torch.nn.Module) -> Path:
    run = tmp_path / "runs" / "tiny-20260101-000000"
    write_best(model.state_dict(), run / "best", INFO, chunk_mb=1)
    return run


def test_chunks_and_sums_as_documented(run: Path, model: torch.nn.Module) -> None:
    best = run / "best"
    files = sorted(p.name for p in best.iterdir())
    assert files[0] == "SHA256SUMS"
    chunks = files[1:]
    sizes = [(best / n).stat().st_size for n in chunks]
    assert chunks == [f"{NAME}.{i:03d}" for i in range(len(sizes))]
    assert len(sizes) == math.ceil(sum(sizes) / 2**20) > 3
    assert set(sizes[:-1]) == {2**20} and 0 < sizes[-1] <= 2**20
    lines = (best / "SHA256SUMS").read_text().splitlines()
    assert [line.split("  ")[1] for line in lines] == [*chunks, NAME]


def test_cat_rebuilds_a_file_torchvision_loads_strictly(run: Path, model: torch.nn.Module) -> None:
    best = run / "best"
    subprocess.run(f"cat {NAME}.* > {NAME}", shell=True, cwd=best, check=True)
    subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=best, check=True)

    plain = safetensors.torch.load_file(best / NAME)  # the library itself, not our reader
    fresh = torchvision.models.get_model("mobilenet_v3_small", num_classes=3)
    fresh.load_state_dict(plain, strict=True)
    for name, tensor in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[name], tensor), name
    with safetensors.safe_open(best / NAME, "pt") as handle:
        metadata = handle.metadata()
    assert json.loads(metadata["classes"]) == INFO.classes
    assert metadata["epoch"] == "7" and metadata["backbone"] == "mobilenet_v3_small"


def test_data_bytes_equal_safetensors_own(tmp_path: Path, model: torch.nn.Module) -> None:
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    state["half"] = torch.arange(5, dtype=torch.float16)
    state["flags"] = torch.tensor([True, False])
    state["empty"] = torch.zeros(0, 4)
    write_best(state, tmp_path / "best", INFO, chunk_mb=0.5)
    mine = b"".join(p.read_bytes() for p in sorted((tmp_path / "best").glob(f"{NAME}.*")))
    theirs = safetensors.torch.save(state, metadata=INFO.to_metadata())
    skip_mine, skip_theirs = (8 + int.from_bytes(b[:8], "little") for b in (mine, theirs))
    assert mine[skip_mine:] == theirs[skip_theirs:]
    assert safetensors.torch.load(mine).keys() == state.keys()


@pytest.mark.parametrize("image_size", [None, 64])
def test_a_checkpoint_with_or_without_its_image_size_loads(
    tmp_path: Path, image_size: int | None
) -> None:
    """hw3tui 0.1.0's first checkpoints did not record the image size (eval and predict of such a
    file alone then ask for --image-size); later ones do. Both are read."""
    metadata = INFO.to_metadata() | {"hw3tui_version": "0.1.0"}
    if image_size is not None:
        metadata["image_size"] = str(image_size)
    path = tmp_path / NAME
    path.write_bytes(safetensors.torch.save({"w": torch.ones(2, 3)}, metadata=metadata))
    state, info = load_checkpoint(path)
    assert torch.equal(state["w"], torch.ones(2, 3))
    assert info.image_size == image_size and info.version == "0.1.0"
    assert info.classes == INFO.classes


@pytest.mark.parametrize(
    "where", ["run", "best", "prefix", "one chunk", "joined file", "best moved aside"]
)
def test_load_from_any_path(where: str, run: Path, model: torch.nn.Module) -> None:
    best = run / "best"
    if where == "joined file":
        subprocess.run(f"cat {NAME}.* > {NAME}", shell=True, cwd=best, check=True)
    if where == "best moved aside":  # a fallback swap killed between its two renames
        best.rename(run / ".best.old-0123456789ab")
    path = {
        "run": run,
        "best": best,
        "prefix": best / NAME,
        "one chunk": best / f"{NAME}.002",
        "joined file": best / NAME,
        "best moved aside": run,
    }[where]
    state, info = load_checkpoint(path)
    assert info == INFO
    assert state.keys() == model.state_dict().keys()
    for name, tensor in model.state_dict().items():
        assert torch.equal(state[name], tensor), name
    assert read_info(path) == INFO


@pytest.mark.parametrize(
    "dtype", [torch.float16, torch.bfloat16, torch.float64, torch.int8, torch.int32, torch.bool]
)
def test_dtypes_round_trip(tmp_path: Path, dtype: torch.dtype) -> None:
    state = {"x": (torch.arange(24).reshape(2, 3, 4) % 3).to(dtype), "n": torch.tensor(5)}
    state["view"] = state["x"].transpose(0, 2)  # not contiguous
    write_best(state, tmp_path / "best", INFO, chunk_mb=0.0001)  # 104-byte chunks
    loaded, _ = load_checkpoint(tmp_path / "best")
    for name, tensor in state.items():
        assert loaded[name].dtype == tensor.dtype and torch.equal(loaded[name], tensor), name


def test_new_best_replaces_every_old_file(tmp_path: Path) -> None:
    best = tmp_path / "run" / "best"
    write_best({"w": torch.zeros(300_000)}, best, INFO, chunk_mb=0.5)
    (best / NAME).write_bytes(b"stale join")
    other = CheckpointInfo("tiny", "resnet18", 9, "val_acc", 0.9, ["a"])
    path = write_best({"w": torch.ones(10)}, best, other, chunk_mb=0.5)
    assert path == best / "resnet18_best.safetensors"
    assert sorted(p.name for p in best.iterdir()) == ["SHA256SUMS", "resnet18_best.safetensors.000"]
    assert [p.name for p in best.parent.iterdir()] == ["best"]


def test_corrupt_chunk_refused_before_any_tensor(run: Path) -> None:
    chunk = run / "best" / f"{NAME}.001"
    data = bytearray(chunk.read_bytes())
    data[100] ^= 0x01
    chunk.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=rf"{NAME}\.001: corrupt") as caught:
        load_checkpoint(run)
    assert "\n" not in str(caught.value)


def test_size_cap(run: Path) -> None:
    with pytest.raises(CheckpointError, match="more than the 1000 allowed"):
        load_checkpoint(run, max_bytes=1000)


def test_file_without_hw3tui_metadata(tmp_path: Path) -> None:
    path = tmp_path / "plain.safetensors"
    safetensors.torch.save_file({"w": torch.ones(2)}, path)
    with pytest.raises(CheckpointError, match=r"not an hw3tui checkpoint .*lacks hw3tui_version"):
        load_checkpoint(path)
    assert torch.equal(load_weights(path)["w"], torch.ones(2))


# --- hostile headers ----------------------------------------------------------------------------


def forged(header: object, data: bytes = b"", length: int | None = None) -> bytes:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return (len(text) if length is None else length).to_bytes(8, "little") + text + data


F32 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "too short"),
        (
            forged(b"{}", length=MAX_HEADER_BYTES + 1),
            "header length, 16777217 bytes, is not plausible",
        ),
        (forged(b"{}", length=10_000), "truncated: its header alone needs"),
        (forged(b"[1, 2]"), "header is not a JSON object"),
        (forged(b'{"a": ' + json.dumps(F32).encode() + b', "a": 1}', bytes(8)), "duplicate name"),
        (forged({"a": {**F32, "dtype": "OBJ"}}, bytes(8)), "dtype 'OBJ' is not allowed"),
        (forged({"a": {**F32, "shape": [-2]}}, bytes(8)), "is not a list of at most"),
        (forged({"a": {**F32, "shape": [3]}}, bytes(8)), "needs 12 bytes, data_offsets give 8"),
        (forged({"a": F32, "b": F32}, bytes(8)), "overlaps another"),
        (forged({"a": {**F32, "data_offsets": [4, 12]}}, bytes(12)), "leaves a gap"),
        (forged({"a": F32}, bytes(4)), "truncated: the header describes 8 bytes"),
        (forged({"a": F32}, bytes(16)), "has trailing bytes"),
        (forged({"a": {**F32, "extra": 1}}, bytes(8)), "exactly dtype, shape and data_offsets"),
        (forged({"__metadata__": {"epoch": 7}}), "__metadata__ must map text to text"),
        (forged(b'{"a": NaN}'), "NaN is not JSON"),
        (forged(b"\xff\xfe"), "bad header"),
    ],
)
def test_hostile_header_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "evil.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message) as caught:
        load_weights(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


# --- fitting a model ----------------------------------------------------------------------------


def test_class_count_mismatch_says_so(run: Path) -> None:
    state, _ = load_checkpoint(run)
    five = torchvision.models.get_model("mobilenet_v3_small", num_classes=5)
    with pytest.raises(CheckpointError, match=r"^checkpoint has 3 classes, the data has 5$"):
        check_against_model(state, five)
    assert compare_with_model(state, five).head == ["classifier.3.weight", "classifier.3.bias"]
    check_against_model(state, torchvision.models.get_model("mobilenet_v3_small", num_classes=3))


def test_other_backbone_names_what_differs(run: Path) -> None:
    state, _ = load_checkpoint(run)
    with pytest.raises(CheckpointError) as caught:
        check_against_model(state, torchvision.models.get_model("resnet18", num_classes=3))
    message = str(caught.value)
    assert message.startswith("checkpoint does not fit the model: ")
    assert "missing keys (conv1.weight, bn1.weight, bn1.bias, ...)" in message
    assert (
        "unexpected keys (classifier.0.bias, classifier.0.weight, classifier.3.bias, ...)"
        in message
    )


def test_pth_loads_plain_tensors_and_never_unpickles(tmp_path: Path) -> None:
    good = tmp_path / "weights.pth"
    torch.save({"w": torch.arange(3)}, good)
    assert torch.equal(load_weights(good)["w"], torch.arange(3))

    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    torch.save({"w": Payload(marker)}, evil)
    with pytest.raises(CheckpointError, match="not a weights file torch can read safely"):
        load_weights(evil)
    assert not marker.exists()


class Payload:
    """What a malicious .pth holds: unpickling it would run code (here: create a file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path.touch, (str(self.marker),))  # type: ignore[return-value]


def test_reading_while_a_run_writes_new_bests(tmp_path: Path) -> None:
    """`hw3tui eval` or the TUI reading best/ while the engine swaps in new ones without pause:
    every read sees one whole checkpoint, never a mix of two and never "corrupt"."""
    import threading

    best = tmp_path / "run" / "best"
    write = _epochs_writer(best)
    write(0)
    stop = threading.Event()

    def writer() -> None:
        epoch = 1
        while not stop.is_set():
            write(epoch)
            epoch += 1

    thread = threading.Thread(target=writer)
    thread.start()
    seen = set()
    try:
        for _ in range(15):
            loaded, info = load_checkpoint(best.parent)
            assert all(bool((t == info.epoch).all()) for t in loaded.values()), info.epoch
            seen.add(info.epoch)
    finally:
        stop.set()
        thread.join()
    assert len(seen) > 1  # the writer did swap during the reads


def _epochs_writer(best: Path) -> Callable[[int], None]:
    shapes = [(256, 128, 3, 3), (1000, 64)] * 3

    def write(epoch: int) -> None:
        state = {f"w{i}": torch.full(s, float(epoch)) for i, s in enumerate(shapes)}
        info = CheckpointInfo("tiny", INFO.backbone, epoch, "val_acc", 0.5, INFO.classes)
        write_best(state, best, info, chunk_mb=0.25)

    return write


def test_a_swap_between_two_chunks_cannot_mix_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new best swapped in after the first chunk was read: the rest still comes from the
    version whose files were opened (before the fix, the read went on in the new folder)."""
    best = tmp_path / "run" / "best"
    write = _epochs_writer(best)
    write(0)
    read_one = chunks._read_into_stream
    swaps = iter([1])

    def read_then_swap(*args: Any) -> Any:
        result = read_one(*args)
        if (epoch := next(swaps, None)) is not None:
            write(epoch)
        return result

    monkeypatch.setattr(chunks, "_read_into_stream", read_then_swap)
    loaded, info = load_checkpoint(best.parent)
    assert info.epoch == 0
    assert all(bool((t == 0).all()) for t in loaded.values())
    assert read_info(best).epoch == 1  # the swap did happen


def test_a_folder_replaced_while_opening_is_read_again_not_called_corrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    best = tmp_path / "run" / "best"
    write = _epochs_writer(best)
    write(0)
    open_one = chunks.Version._open
    epochs = iter(range(1, 100))

    def swap_then_open(self: chunks.Version, name: str) -> int | None:
        if name != SUMS_FILE and replacing:
            write(next(epochs))  # the old files are gone before this one is opened
        return open_one(self, name)

    monkeypatch.setattr(chunks.Version, "_open", swap_then_open)
    replacing = True
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(best)
    assert "changed while it was being read" in str(caught.value)
    assert "corrupt" not in str(caught.value)
    assert "missing" not in str(caught.value)

    replacing = False
    loaded, info = load_checkpoint(best)
    assert all(bool((t == info.epoch).all()) for t in loaded.values())
    assert verify(best).ok


def test_failed_reads_leave_no_threads_behind(run: Path) -> None:
    import threading

    (run / "best" / f"{NAME}.001").unlink()
    before = threading.active_count()
    for _ in range(3):
        with pytest.raises(CheckpointError, match=rf"{NAME}\.001: missing"):
            load_checkpoint(run)
    assert threading.active_count() == before


# --- fuzzing the header check against safetensors itself -------------------------------------

_SAMPLE = safetensors.torch.save(
    {
        "a": torch.arange(6, dtype=torch.float32).reshape(2, 3),
        "b": torch.tensor([1, 2]),
        "c": torch.zeros(0),
    },
    metadata={"epoch": "3"},
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(_SAMPLE) - 1), st.integers(0, 255)), min_size=1, max_size=4
    ),
    cut=st.integers(-8, 8),
)
def test_header_check_is_never_looser_than_safetensors(
    edits: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(_SAMPLE)
    for position, value in edits:
        data[position] = value
    data = data[: len(data) + cut] if cut < 0 else data + bytes(cut)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzzed.safetensors"
        path.write_bytes(bytes(data))
        try:
            mine = load_weights(path)
        except CheckpointError as exc:
            assert "\n" not in str(exc)
            return
    theirs = safetensors.torch.load(bytes(data))  # accepted by us: safetensors agrees
    assert mine.keys() == theirs.keys()
    for name, tensor in theirs.items():
        # compared as bytes: a fuzzed float may be NaN, which torch.equal calls unequal to itself
        assert mine[name].dtype == tensor.dtype and mine[name].shape == tensor.shape
        assert mine[name].numpy().tobytes() == tensor.numpy().tobytes()
