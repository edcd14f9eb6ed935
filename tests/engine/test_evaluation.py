"""The evaluation engine without training: finding checkpoints, class numbering, the report,
image listing and test-time augmentation, on a randomly initialised resnet18."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from hw3tui.engine.checkpoint import CheckpointInfo, write_best
from hw3tui.engine.data.datasets import Dataset, Split, decode_image
from hw3tui.engine.inference.evaluation import (
    EvalError,
    Recording,
    data_format,
    in_checkpoint_order,
    load_trained,
)
from hw3tui.engine.inference.prediction import (
    ImagesError,
    list_images,
    predict_images,
    predictions_csv,
)
from hw3tui.engine.training.loop import evaluate
from hw3tui.results.eval_report import EvalReport
from hw3tui.runs import NoSuchRun, RunDir, resolve_checkpoint
from hw3tui.runs.status import Status

CLASSES = ["cat", "dog", "fox"]
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


@pytest.fixture
def model() -> torch.nn.Module:
    torch.manual_seed(3)
    net: torch.nn.Module = torchvision.models.get_model("resnet18", num_classes=3)
    return net.eval()


def save(model: torch.nn.Module, folder: Path, image_size: int | None = 32) -> Path:
    info = CheckpointInfo("tiny", "resnet18", 4, "val_acc", 0.5, CLASSES, image_size=image_size)
    write_best(model.state_dict(), folder, info, chunk_mb=4)
    return folder


def images(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        pixels = np.random.default_rng(i).integers(0, 255, (18 + i, 30, 3), dtype=np.uint8)
        pixels[:, :10] = 255  # left and right differ, so a mirror image is another input
        path = folder / f"{i}.png"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


def test_a_checkpoint_knows_its_run_and_a_joined_one_does_not(
    model: torch.nn.Module, isolated: Path
) -> None:
    run = RunDir(isolated / "runs" / "tiny-20260101-000000")
    run.path.mkdir(parents=True)
    run.write_status(Status(state="done"))
    save(model, run.best_dir)
    by_name = resolve_checkpoint("tiny-20260101-000000", isolated / "runs")
    assert by_name.run is not None and by_name.run.path == run.path
    inside = resolve_checkpoint(str(run.best_dir), Path("runs"))
    assert inside.run is not None and inside.run.path == run.path
    prefix = resolve_checkpoint(str(run.best_dir / "resnet18_best.safetensors"), Path("runs"))
    assert prefix.run is not None

    alone = save(model, isolated / "shared")
    target = resolve_checkpoint(str(alone), Path("runs"))
    assert target.run is None
    trained = load_trained(target)
    assert trained.preset.data.image_size == 32 and trained.preset.backbone.name == "resnet18"
    assert trained.classes == CLASSES

    with pytest.raises(NoSuchRun, match="typo: no such run"):
        resolve_checkpoint("typo", Path("runs"))


def test_data_keeps_the_checkpoints_class_numbers() -> None:
    val = Split(torch.tensor([0, 1, 1, 0]), 8, images=torch.zeros(4, 3, 8, 8, dtype=torch.uint8))
    dataset = Dataset(("dog", "fox"), val, val, 8, 0, "two classes")
    assert in_checkpoint_order(dataset, CLASSES).labels.tolist() == [1, 2, 2, 1]
    other = Dataset(("dog", "wolf"), val, val, 8, 0, "")
    with pytest.raises(EvalError, match="'wolf' is not among its 3 classes"):
        in_checkpoint_order(other, CLASSES)


def test_data_format_of_a_path(isolated: Path) -> None:
    (isolated / "folder" / "cat").mkdir(parents=True)
    (isolated / "flat").mkdir()
    (isolated / "labels.csv").write_text("a.png,cat\n")
    assert data_format(isolated / "folder") == "imagefolder"
    assert data_format(isolated / "flat") == "filenames"
    assert data_format(isolated / "labels.csv") == "csv"


def test_the_report_counts_from_its_confusion_matrix() -> None:
    report = EvalReport(
        classes=CLASSES,
        confusion=[[3, 1, 0], [0, 0, 0], [2, 0, 4]],
        accuracy=0.7,
        loss=0.5,
        checkpoint={"source": "x"},
        data="test",
    )
    assert report.images == 10 and report.correct == 7
    assert [(c.images, c.correct, c.accuracy) for c in report.per_class()] == [
        (4, 3, 0.75),
        (0, 0, None),
        (6, 4, 4 / 6),
    ]
    assert [(m.true, m.predicted, m.count) for m in report.most_confused()] == [
        ("fox", "cat", 2),
        ("cat", "dog", 1),
    ]
    again = EvalReport.from_json(json.loads(json.dumps(report.as_json())))
    assert again.as_json() == report.as_json()
    assert report.csv_text().splitlines()[-1] == "all,10,7,0.7,5,1,4"
    broken = {**report.as_json(), "confusion": [[1, 2]]}
    with pytest.raises(ValueError, match="wrong size"):
        EvalReport.from_json(broken)


def test_images_are_listed_in_natural_order_with_unique_ids(isolated: Path) -> None:
    folder = isolated / "test"
    folder.mkdir()
    for name in ["10.jpg", "9.png", "img2.png", "img10.png", ".hidden.png", "notes.txt"]:
        (folder / name).write_bytes(b"")
    assert [p.name for p in list_images(folder)] == ["9.png", "10.jpg", "img2.png", "img10.png"]
    (folder / "9.jpg").write_bytes(b"")
    with pytest.raises(ImagesError, match=r"9\.jpg and 9\.png would both be Id '9'"):
        list_images(folder)
    with pytest.raises(ImagesError, match="no such folder"):
        list_images(isolated / "missing")


def test_flip_tta_is_the_mean_softmax_of_both_views(model: torch.nn.Module, isolated: Path) -> None:
    files = images(isolated / "test", 5)
    trained = load_trained(resolve_checkpoint(str(save(model, isolated / "shared")), Path("runs")))
    seen: list[tuple[int, int]] = []
    rows = predict_images(
        trained, files, tta=True, seen=lambda done, total: seen.append((done, total))
    )
    assert seen[-1] == (5, 5)

    pixels = [torch.from_numpy(decode_image(f, 32).transpose(2, 0, 1).copy()) for f in files]
    batch = (torch.stack(pixels).float() / 255 - MEAN) / STD
    with torch.inference_mode():
        both = (model(batch).softmax(1) + model(batch.flip(-1)).softmax(1)) / 2
        plain = model(batch).softmax(1)
    assert [r.id for r in rows] == ["0", "1", "2", "3", "4"]
    assert [r.index for r in rows] == both.argmax(1).tolist()
    assert [r.confidence for r in rows] == pytest.approx(both.max(1).values.tolist(), abs=1e-5)
    assert not torch.allclose(both, plain)  # the mirror image changed something

    text = predictions_csv(rows, CLASSES, id_column="file", label_column="class", labels="index")
    assert text.splitlines()[0] == "file,class" and len(text.splitlines()) == 6


def test_recording_leaves_the_engines_loss_and_accuracy_alone(model: torch.nn.Module) -> None:
    from hw3tui.engine.data.augment import Preprocess
    from hw3tui.engine.data.batches import Batches
    from hw3tui.engine.hardware.runtime import Runtime

    generator = torch.Generator().manual_seed(0)
    split = Split(
        torch.tensor([0, 1, 2, 0, 1, 2, 0]),
        32,
        images=torch.randint(0, 255, (7, 3, 32, 32), dtype=torch.uint8, generator=generator),
    )
    cpu = torch.device("cpu")
    runtime = Runtime(cpu, "fp32", False, False, 1, 0)
    inputs = Preprocess([], device=cpu, channels_last=False)

    def batches() -> Batches:
        return Batches(split, batch_size=3, seed=0, shuffle=False, device=cpu, workers=0)

    plain = evaluate(model, batches(), inputs, runtime)
    recording = Recording(model, total=7, flip=True)
    assert evaluate(recording, batches(), inputs, runtime) == plain
    assert recording.outputs().shape == (7, 3) and recording.done == 7
