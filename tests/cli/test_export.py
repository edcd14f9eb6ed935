"""`hw3tui export` on a tiny run trained once for this module: each format agrees with the
checkpoint within 1e-4 as its users load it, and a tampered check writes nothing (exit 1)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
import torchvision
from click.testing import CliRunner

from hw3tui.cli import cli
from hw3tui.engine.inference import export as exporting
from tests.tiny import BACKBONE

pytestmark = pytest.mark.slow  # the module's run is trained end to end

TINY = Path(__file__).resolve().parent.parent / "data" / "tiny.yaml"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    runs = tmp_path_factory.mktemp("export-runs")
    result = CliRunner().invoke(
        cli,
        ["run", str(TINY), "--set", "schedule.epochs=1", "--runs-dir", str(runs)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    (found,) = runs.iterdir()
    return found


def _export(run_dir: Path, fmt: str, output: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["export", str(run_dir), "--format", fmt, "-o", str(output)])
    return result.exit_code, result.output


def _inputs(size: int) -> torch.Tensor:
    return torch.rand(5, 3, size, size, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("fmt", ["onnx", "pt2", "pth"])
def test_each_format_agrees_with_the_checkpoint(run_dir: Path, tmp_path: Path, fmt: str) -> None:
    if fmt == "onnx":
        pytest.importorskip("onnx")
    output = tmp_path / f"model.{fmt}"
    code, text = _export(run_dir, fmt, output)
    assert code == 0, text
    diff = float(re.search(r"max \|logit difference\| (\S+)", text).group(1))  # type: ignore[union-attr]
    assert diff <= 1e-4
    meta = json.loads((tmp_path / f"model.{fmt}.json").read_text())
    assert meta["preprocessing"]["image_size"] == 32
    assert meta["preprocessing"]["mean"] == [0.485, 0.456, 0.406]
    # as a user loads it, without hw3tui: the same logits as the checkpoint's model
    from hw3tui.engine.checkpoint import load_checkpoint

    state, info = load_checkpoint(run_dir)
    assert meta["classes"] == list(info.classes)
    reference = torchvision.models.get_model(BACKBONE, num_classes=3)
    reference.load_state_dict(state, strict=True)
    inputs = _inputs(32)
    with torch.no_grad():
        expected = reference.eval()(inputs)
        if fmt == "pth":
            loaded = torchvision.models.get_model(BACKBONE, num_classes=3)
            loaded.load_state_dict(torch.load(output, weights_only=True), strict=True)
            got = loaded.eval()(inputs)
        elif fmt == "pt2":
            got = torch.export.load(output).module()(inputs)
        else:
            ort = pytest.importorskip("onnxruntime")
            session = ort.InferenceSession(str(output), providers=["CPUExecutionProvider"])
            got = torch.from_numpy(session.run(None, {"images": inputs.numpy()})[0])
    assert (got - expected).abs().max() <= 1e-4  # a batch of 5: not the traced 2


@pytest.mark.parametrize("fmt", ["onnx", "pt2", "pth"])
def test_a_tampered_export_fails_the_check_and_writes_nothing(
    run_dir: Path, tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if fmt == "onnx":
        pytest.importorskip("onnx")
    honest = exporting.exported_logits

    def off(*args: object, **kwargs: object) -> torch.Tensor:
        return honest(*args, **kwargs) + 1e-3  # type: ignore[arg-type]

    monkeypatch.setattr(exporting, "exported_logits", off)
    out = tmp_path / "out"
    out.mkdir()
    code, text = _export(run_dir, fmt, out / f"model.{fmt}")
    assert code == 1, text
    assert "differ from the checkpoint's by 0.001" in text
    assert list(out.iterdir()) == []  # no file, no sidecar, no staged leftover


def test_an_unknown_format_and_a_missing_folder_are_bad_input(
    run_dir: Path, tmp_path: Path
) -> None:
    code, _ = _export(run_dir, "tflite", tmp_path / "m.tflite")
    assert code == 2
    code, text = _export(run_dir, "pth", tmp_path / "nowhere" / "m.pth")
    assert code == 2
    assert "no such folder" in text
