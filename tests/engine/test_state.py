"""The resumable state's format: what `save_state` writes (format 2) and the older layout it still
reads (format 1, hw3tui 0.1.0: every GPU's generator as `cuda.0`, `cuda.1`, ...)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from engine_helpers import TinyNet, job_from

from hw3tui.engine.checkpoint import load_weights, write_safetensors
from hw3tui.engine.training.state import StateError, load_state, save_state

SHORT = ["schedule.epochs=1", "schedule.batch_size=8"]


def saved(tmp_path: Path) -> Path:
    """A state saved by this version, after one epoch's worth of nothing (a fresh job)."""
    folder = tmp_path / "state"
    save_state(job_from(SHORT, module=TinyNet()), folder)
    return folder


def set_format(folder: Path, number: object) -> None:
    document = json.loads((folder / "state.json").read_text())
    document["format"] = number
    (folder / "state.json").write_text(json.dumps(document))


def with_every_gpus_generator(folder: Path, states: dict[int, torch.Tensor]) -> None:
    """Rewrite rng.safetensors the way format 1 first wrote it: one `cuda.N` per GPU."""
    tensors = {"cpu": load_weights(folder / "rng.safetensors")["cpu"]}
    tensors.update({f"cuda.{index}": state for index, state in states.items()})
    write_safetensors(tensors, folder / "rng.safetensors")


@pytest.fixture
def gpu_generators(monkeypatch: pytest.MonkeyPatch) -> list[torch.Tensor]:
    """Pretend this process trains on GPU 3; collect what is put into its generator."""
    restored: list[torch.Tensor] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 3)
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda s, device="cuda": restored.append(s))
    return restored


def test_a_state_is_written_as_format_2(tmp_path: Path) -> None:
    document = json.loads((saved(tmp_path) / "state.json").read_text())
    assert document["format"] == 2


def test_a_format_2_state_resumes(tmp_path: Path) -> None:
    folder = saved(tmp_path)
    job = job_from(SHORT, module=TinyNet())
    load_state(job, folder)
    assert (job.state.epoch, job.state.step) == (0, 0)


def test_a_format_1_state_resumes_with_this_gpus_generator(
    tmp_path: Path, gpu_generators: list[torch.Tensor]
) -> None:
    """0.1.0 saved every GPU's generator; a resume on GPU 3 takes GPU 3's, whatever the count."""
    folder = saved(tmp_path)
    mine = torch.arange(16, dtype=torch.uint8)
    with_every_gpus_generator(folder, {0: torch.zeros(16, dtype=torch.uint8), 3: mine})
    set_format(folder, 1)
    load_state(job_from(SHORT, module=TinyNet()), folder)
    assert len(gpu_generators) == 1 and torch.equal(gpu_generators[0], mine)


def test_a_format_1_state_in_the_current_layout_resumes(
    tmp_path: Path, gpu_generators: list[torch.Tensor]
) -> None:
    """0.1.0's later states already held one `cuda` generator, still under format 1."""
    folder = saved(tmp_path)
    mine = torch.arange(16, dtype=torch.uint8)
    tensors = load_weights(folder / "rng.safetensors")
    write_safetensors({**tensors, "cuda": mine}, folder / "rng.safetensors")
    set_format(folder, 1)
    load_state(job_from(SHORT, module=TinyNet()), folder)
    assert len(gpu_generators) == 1 and torch.equal(gpu_generators[0], mine)


@pytest.mark.parametrize("number", [0, 3, "2", True, None])
def test_a_state_of_an_unknown_format_is_refused(tmp_path: Path, number: object) -> None:
    folder = saved(tmp_path)
    set_format(folder, number)
    with pytest.raises(StateError, match="saved by another hw3tui state format"):
        load_state(job_from(SHORT, module=TinyNet()), folder)


def test_a_state_json_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    folder = saved(tmp_path)
    (folder / "state.json").write_text("[1, 2]\n")
    with pytest.raises(StateError, match="saved by another hw3tui state format"):
        load_state(job_from(SHORT, module=TinyNet()), folder)
