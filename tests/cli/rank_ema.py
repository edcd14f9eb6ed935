"""`hw3tui` as torchrun's script, with each rank writing down what it holds at each epoch's end.

    torchrun --nproc-per-node 2 tests/cli/rank_ema.py run PRESET ...   (RANK_EMA_DIR=folder)

Every rank appends to RANK_EMA_DIR/rank<R>.jsonl, once per epoch (as the epoch is recorded, after
the ranks' buffers were made rank 0's and before rank 0 saves state/): the val scores it computed
and digests of its EMA (the whole `AveragedModel` state, as state/ema.safetensors keeps it; and
the plain network's, as best/ keeps it) and of its raw weights. The engine is untouched: the hook
wraps the loop's `_epoch_end` from outside, so only tests pay for it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import torch


def digest(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 of a state_dict: every key, dtype, shape and byte, in key order."""
    h = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].detach().cpu().contiguous()
        h.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        h.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _install(folder: Path) -> None:
    from hw3tui.engine.training import loop

    original = loop._epoch_end

    def epoch_end(job: Any, out: Any, train: Any, epoch: int, val_loss: float,
                  val_acc: float, raw: tuple[float, float] | None = None) -> int:  # fmt: skip
        assert job.ema is not None, "run this with `ema` in the preset"
        record = {
            "rank": job.world.rank,
            "epoch": epoch,
            "val_loss": val_loss,
            "val_acc": val_acc,
            "raw": list(raw) if raw is not None else None,
            "ema": digest(job.ema.state_dict()),
            "ema_module": digest(job.ema.module.state_dict()),
            "module": digest(job.module.state_dict()),
        }
        with (folder / f"rank{job.world.rank}.jsonl").open("a") as file:
            file.write(json.dumps(record) + "\n")
        return original(job, out, train, epoch, val_loss, val_acc, raw)

    loop._epoch_end = epoch_end  # type: ignore[assignment]


if __name__ == "__main__":
    _install(Path(os.environ["RANK_EMA_DIR"]))
    from hw3tui.cli import main

    sys.exit(main())
