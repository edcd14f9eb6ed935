"""Resumable training state in `state/`: safetensors for tensors, JSON for the rest, no pickle.

    state/
      model.safetensors       the model's state_dict
      optimizer.safetensors   the optimizer's per-parameter tensors ("<param index>.<name>")
      rng.safetensors         torch's CPU (and CUDA) generator states
      ema.safetensors         with `ema` in the preset only: the average's state_dict
                              (`module.`-prefixed weights and `n_averaged`)
      state.json              where the run is (epoch, step, best, early stop, partial sums),
                              schedules, optimizer param groups and scalars, loss scaler,
                              Python and NumPy generator states

`state.json`'s `format` says the layout (`FORMAT`); a state of an older format that hw3tui still
reads (`READABLE`) is brought to the current one as it is loaded, any other is refused.

The whole folder is replaced atomically (`hw3tui.atomic.replace_dir`): a kill at any instant
leaves the previous complete state or the new one.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

import hw3tui
from hw3tui.atomic import replace_dir
from hw3tui.engine.checkpoint import CheckpointError, load_weights, write_safetensors
from hw3tui.engine.training.loop import Job, TrainState
from hw3tui.errors import StateError as StateError  # defined with its family
from hw3tui.errors import one_line
from hw3tui.regular import read_regular

FORMAT = 2
"""The layout `save_state` writes: torch's generators as `cpu` and `cuda` (the one GPU this
process trains on)."""
EMA_FILE = "ema.safetensors"
READABLE = (1, FORMAT)
"""Format 1 is hw3tui 0.1.0's, still in students' run folders: the same files, but its first
states kept every GPU's generator (`cuda.0`, `cuda.1`, ...); `_rng_of_format_1` reads both."""


def save_state(job: Job, state_dir: Path) -> None:
    """Write everything `load_state` needs to continue `job` exactly where it is."""
    optimizer = job.optimizer.state_dict()
    tensors, scalars = _split_optimizer_state(optimizer["state"])
    with replace_dir(state_dir) as staging:
        write_safetensors(job.module.state_dict(), staging / "model.safetensors")
        write_safetensors(tensors, staging / "optimizer.safetensors")
        write_safetensors(_torch_rng(), staging / "rng.safetensors")
        if job.ema is not None:
            write_safetensors(job.ema.state_dict(), staging / EMA_FILE)
        document = {
            "format": FORMAT,
            "version": hw3tui.__version__,
            "backbone": job.preset.backbone.name,
            "train": job.state.as_json(),
            "schedules": job.schedules.state_dict(),
            "optimizer": {"param_groups": optimizer["param_groups"], "scalars": scalars},
            "scaler": job.scaler.state_dict(),
            "rng": {"python": _python_rng(), "numpy": _numpy_rng()},
        }
        (staging / "state.json").write_text(json.dumps(document, indent=1) + "\n")


def has_state(state_dir: Path) -> bool:
    return (state_dir / "state.json").is_file()


def load_state(job: Job, state_dir: Path) -> None:
    """Put `job` back where `save_state` left it; `StateError` when it does not fit."""
    try:
        document = json.loads(read_regular(state_dir / "state.json", limit=1 << 20))
        # the same header-checked reader as every other safetensors file hw3tui opens
        model = load_weights(state_dir / "model.safetensors")
        tensors = load_weights(state_dir / "optimizer.safetensors")
        rng = load_weights(state_dir / "rng.safetensors")
        # a state saved without an average (older, or `ema` off) has no file and needs none
        ema = load_weights(state_dir / EMA_FILE) if job.ema is not None else None
    except CheckpointError as exc:
        raise StateError(f"{state_dir}: damaged saved state: {exc}") from None
    except (OSError, ValueError) as exc:
        raise StateError(f"{state_dir}: cannot read the saved state: {exc}") from None
    number = document.get("format") if isinstance(document, dict) else None
    if not isinstance(number, int) or isinstance(number, bool) or number not in READABLE:
        raise StateError(f"{state_dir}: saved by another hw3tui state format")
    if document.get("backbone") != job.preset.backbone.name:
        raise StateError(
            f"{state_dir}: saved for backbone {document.get('backbone')}, "
            f"but preset.yaml now says {job.preset.backbone.name}"
        )
    try:
        job.module.load_state_dict(model, strict=True)
        optimizer = document["optimizer"]
        _load_optimizer(
            job.optimizer,
            {
                "state": _join_optimizer_state(tensors, optimizer["scalars"]),
                "param_groups": optimizer["param_groups"],
            },
        )
        job.schedules.load_state_dict(document["schedules"])
        job.scaler.load_state_dict(document["scaler"])
        job.state = TrainState.from_json(document["train"])
        if job.ema is not None and ema is not None:
            job.ema.load_state_dict(ema, strict=True)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise StateError(
            f"{state_dir}: the saved state does not fit this run: {one_line(exc)}"
        ) from None
    _restore_rng(document["rng"], rng if number == FORMAT else _rng_of_format_1(rng))


IMPLEMENTATION_KEYS = ("fused", "foreach", "capturable", "differentiable")
"""Param-group keys that say how this run's device steps, not where training is: kept as built."""


def _load_optimizer(optimizer: torch.optim.Optimizer, saved: dict[str, Any]) -> None:
    """`load_state_dict`, then each state tensor laid out like its parameter. The saved tensors are
    contiguous (safetensors needs it) and `load_state_dict` keeps their layout, so against
    channels_last weights the multi-tensor and fused kernels would fall back to one kernel per
    tensor for the rest of the run. The implementation keys (fused on CUDA) stay as built here:
    the state may have been saved on another device or by an older version."""
    built = [{k: g[k] for k in IMPLEMENTATION_KEYS if k in g} for g in optimizer.param_groups]
    optimizer.load_state_dict(saved)
    for group, keys in zip(optimizer.param_groups, built, strict=True):
        group.update(keys)
    for param, entries in optimizer.state.items():
        for name, value in entries.items():
            if (
                isinstance(value, torch.Tensor)
                and value.shape == param.shape
                and value.stride() != param.stride()
            ):
                entries[name] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def _split_optimizer_state(
    state: Mapping[Any, Mapping[str, Any]],
) -> tuple[dict[str, torch.Tensor], dict[str, dict[str, Any]]]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entries in state.items():
        for name, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}.{name}"] = value
            else:
                scalars.setdefault(str(index), {})[name] = value
    return tensors, scalars


def _join_optimizer_state(
    tensors: Mapping[str, torch.Tensor], scalars: Mapping[str, Mapping[str, Any]]
) -> dict[int, dict[str, Any]]:
    state: dict[int, dict[str, Any]] = {}
    for key, tensor in tensors.items():
        index, _, name = key.partition(".")
        state.setdefault(int(index), {})[name] = tensor
    for index, entries in scalars.items():
        state.setdefault(int(index), {}).update(entries)
    return state


def _torch_rng() -> dict[str, torch.Tensor]:
    """The CPU generator and the current GPU's (the one this process trains on: a resume on
    another GPU, or on a machine with another number of them, still replays its dropout)."""
    states = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():  # type: ignore[no-untyped-call]
        states["cuda"] = torch.cuda.get_rng_state()
    return states


def _python_rng() -> list[Any]:
    version, internal, gauss = random.getstate()
    return [version, list(internal), gauss]


def _numpy_rng() -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    return {
        "name": name,
        "keys": np.asarray(keys).tolist(),
        "pos": pos,
        "gauss": [has_gauss, cached],
    }


def _restore_rng(saved: Mapping[str, Any], tensors: Mapping[str, torch.Tensor]) -> None:
    version, internal, gauss = saved["python"]
    random.setstate((version, tuple(internal), gauss))
    state = saved["numpy"]
    keys = np.array(state["keys"], dtype=np.uint32)
    np.random.set_state((state["name"], keys, state["pos"], *state["gauss"]))
    torch.set_rng_state(tensors["cpu"])
    cuda = tensors.get("cuda")
    if cuda is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(cuda)


def _rng_of_format_1(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Format 1's generators in format 2's layout. Its first states (before 2026-11-30) held
    every GPU's as `cuda.0`, `cuda.1`, ...: this process's GPU's becomes `cuda`, so a resume on
    another GPU, or on a machine with another number of them, still replays its dropout. Its later
    states already hold `cuda`."""
    current = {name: state for name, state in tensors.items() if not name.startswith("cuda.")}
    if "cuda" not in current and torch.cuda.is_available():
        mine = tensors.get(f"cuda.{torch.cuda.current_device()}")
        if mine is not None:
            current["cuda"] = mine
    return current
