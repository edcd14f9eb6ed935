"""`parallel: auto`: one trial per GPU, found without torch (CUDA_VISIBLE_DEVICES, nvidia-smi)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hw3tui.sweeps.gpus import slots


def fake_nvidia_smi(folder: Path, gpus: int) -> None:
    script = folder / "nvidia-smi"
    lines = "".join(f"echo 'GPU {i}: NVIDIA H200 (UUID: GPU-{i})'\n" for i in range(gpus))
    script.write_text(f"#!/bin/sh\n{lines}")
    script.chmod(0o755)


def test_auto_is_one_trial_per_gpu_each_pinned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_nvidia_smi(tmp_path, 3)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)

    places = slots("auto")

    assert places.gpus == ("0", "1", "2")
    assert [places.env(i) for i in range(3)] == [
        {"CUDA_VISIBLE_DEVICES": "0"},
        {"CUDA_VISIBLE_DEVICES": "1"},
        {"CUDA_VISIBLE_DEVICES": "2"},
    ]
    assert places.how == "nvidia-smi -L: 3 GPUs"


def test_cuda_visible_devices_names_the_gpus_a_sweep_may_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5")
    assert slots("auto").gpus == ("2", "5")
    assert slots(3).gpus == ("2", "5", "2")


def test_without_a_gpu_auto_is_one_trial_on_the_cpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)

    places = slots("auto")

    assert places.gpus == (None,)
    assert places.env(0) == {}
    assert slots(2).gpus == (None, None)


def test_hidden_gpus_mean_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert slots("auto").gpus == (None,)
