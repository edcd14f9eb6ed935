"""A trained checkpoint as a file other programs run (`hw3tui export`): ONNX, a torch.export
program or a plain state_dict; each checked against the checkpoint before it is kept.

    trained = load_trained(target, device="cpu")          # evaluation.load_trained
    done = export_checkpoint(trained, "onnx", Path("model.onnx"))

The check: the exported file is written to a private temporary folder, read back the way its
users read it (onnxruntime, `torch.export.load`, `torch.load(weights_only=True)` into a fresh
torchvision model) and run on a batch of the run's val images; its logits must agree with the
checkpoint's within `TOLERANCE`, else nothing is written (`ExportMismatch`, exit 1). The file is
traced with a batch of 2 and checked with up to `CHECK_IMAGES` images, so the
dynamic batch axis is checked too. `FILE.json` beside it names the classes and the preprocessing.

Why these exporters on torch 2.x: `torch.jit` (TorchScript) is deprecated (torch 2.14 warns on
every `torch.jit.save` and `load`), so the torch-native format is `torch.export`'s `.pt2`. ONNX
uses the TorchScript-based exporter (`dynamo=False`): it needs only the `onnx` package, while the
dynamo exporter also needs `onnxscript`; torchvision's classifiers trace without control flow.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

import hw3tui
from hw3tui.atomic import write_bytes_atomic, write_text_atomic
from hw3tui.engine.data.augment import IMAGENET_MEAN, IMAGENET_STD
from hw3tui.engine.inference.evaluation import (
    Trained,
    eval_job,
    in_checkpoint_order,
    labelled_images,
)
from hw3tui.engine.models import build_model
from hw3tui.errors import BadInput

Format = Literal["onnx", "pt2", "pth"]
FORMATS: tuple[Format, ...] = ("onnx", "pt2", "pth")
TOLERANCE = 1e-4
"""The largest difference of any logit between the exported file and the checkpoint."""
CHECK_IMAGES = 16
"""Val images the exported file is checked on (the trace sees 2: the batch axis is checked)."""
OPSET = 17


class ExportMismatch(Exception):
    """The exported file's logits differ from the checkpoint's: nothing was written (exit 1)."""


class ExportUnavailable(BadInput):
    """The format needs a package that is not installed."""


@dataclass(frozen=True)
class Exported:
    """What was written and how well it agreed."""

    path: Path
    sidecar: Path
    max_diff: float
    images: int
    checked_with: str


def sidecar_of(path: Path) -> Path:
    """`model.onnx` -> `model.onnx.json`: one per exported file, whatever its format."""
    return path.with_name(path.name + ".json")


def export_checkpoint(
    trained: Trained, fmt: Format, output: Path, *, data: Path | None = None
) -> Exported:
    """Export `trained` to `output` in `fmt`, checked on the run's val images (or `data`)."""
    _check_available(fmt)
    module, inputs = _model_and_batch(trained, data)
    with torch.no_grad():
        expected = module(inputs)
    with tempfile.TemporaryDirectory(prefix="hw3tui-export-") as folder:
        staged = Path(folder) / output.name  # private until checked; then copied atomically
        _write(fmt, module, inputs[:2], staged)
        got = exported_logits(fmt, staged, inputs, trained)
        diff = float((got.float() - expected.float()).abs().max())
        if not diff <= TOLERANCE:  # NaN fails too
            raise ExportMismatch(
                f"the exported {fmt} file's logits differ from the checkpoint's by {diff:.3g} "
                f"(more than {TOLERANCE:g}) on {len(inputs)} val images: nothing written"
            )
        write_bytes_atomic(output, staged.read_bytes())
    sidecar = sidecar_of(output)
    write_text_atomic(sidecar, json.dumps(describe(trained, fmt, output, diff), indent=2) + "\n")
    return Exported(output, sidecar, diff, len(inputs), _checker(fmt))


def describe(trained: Trained, fmt: Format, output: Path, diff: float) -> dict[str, Any]:
    """The sidecar JSON: what a program needs to feed the file and read its answer."""
    info, size = trained.info, trained.preset.data.image_size
    return {
        "file": output.name,
        "format": fmt,
        "backbone": info.backbone,
        "classes": list(info.classes),
        "input": {
            "name": "images",
            "shape": ["batch", 3, size, size],
            "dtype": "float32",
            "layout": "NCHW, RGB",
        },
        "output": {"name": "logits", "shape": ["batch", len(info.classes)]},
        "preprocessing": {
            "resize": f"shorter side to {size} (bilinear), centre crop {size}x{size}",
            "image_size": size,
            "scale": "pixels / 255",
            "mean": list(IMAGENET_MEAN),
            "std": list(IMAGENET_STD),
        },
        "checkpoint": trained.describe(),
        "max_abs_diff": diff,
        "hw3tui_version": hw3tui.__version__,
    }


def _check_available(fmt: Format) -> None:
    if fmt == "onnx" and find_spec("onnx") is None:
        raise ExportUnavailable(
            "--format onnx needs the onnx package: pip install 'hw3tui[export]'"
        )


def _checker(fmt: Format) -> str:
    if fmt == "onnx":
        return "onnxruntime" if find_spec("onnxruntime") else "onnx.reference"
    return "torch.export.load" if fmt == "pt2" else "torch.load(weights_only=True)"


def _model_and_batch(trained: Trained, data: Path | None) -> tuple[nn.Module, torch.Tensor]:
    """The checkpoint's model in fp32 on the CPU, NCHW, eval mode; a batch of val inputs."""
    dataset = labelled_images(trained, data)
    split = in_checkpoint_order(dataset, trained.classes)
    job = eval_job(trained, split, description=dataset.description)
    images, _ = next(iter(job.val_batches().epoch(0)))
    inputs = job.val_inputs(images[:CHECK_IMAGES], None)
    module = job.module.float().to("cpu").to(memory_format=torch.contiguous_format).eval()
    return module, inputs.float().cpu().contiguous()


def _write(fmt: Format, module: nn.Module, example: torch.Tensor, path: Path) -> None:
    if fmt == "pth":
        state = {k: v.detach().contiguous() for k, v in module.state_dict().items()}
        torch.save(state, path)
    elif fmt == "pt2":
        batch = torch.export.Dim("batch", min=1, max=65536)
        program = torch.export.export(module, (example,), dynamic_shapes=({0: batch},))
        torch.export.save(program, path)
    else:
        with warnings.catch_warnings():  # the TorchScript exporter's notice about dynamo
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                (example,),
                str(path),
                dynamo=False,
                input_names=["images"],
                output_names=["logits"],
                dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
                opset_version=OPSET,
            )


def exported_logits(
    fmt: Format, path: Path, inputs: torch.Tensor, trained: Trained
) -> torch.Tensor:
    """The exported file's logits on `inputs`, read back as its users read it."""
    run: Callable[[torch.Tensor], torch.Tensor]
    if fmt == "pth":
        state = torch.load(path, weights_only=True)
        info = trained.info
        fresh = build_model(
            info.backbone,
            num_classes=len(info.classes),
            image_size=trained.preset.data.image_size,
            pretrained=False,
            base_dir=trained.base_dir,
        )
        fresh.load_state_dict(state, strict=True)
        run = fresh.eval()
    elif fmt == "pt2":
        run = torch.export.load(path).module()
    else:
        run = _onnx_runner(path)
    with torch.no_grad():
        return run(inputs)


def _onnx_runner(path: Path) -> Callable[[torch.Tensor], torch.Tensor]:
    if find_spec("onnxruntime") is not None:
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

        def run(inputs: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(session.run(None, {"images": inputs.numpy()})[0])

        return run
    from onnx.reference import ReferenceEvaluator  # slow, but part of onnx itself

    evaluator = ReferenceEvaluator(str(path))

    def reference(inputs: torch.Tensor) -> torch.Tensor:
        outputs: Any = evaluator.run(None, {"images": inputs.numpy()})
        return torch.from_numpy(outputs[0])

    return reference
