"""The exponential moving average of a run's weights (`ema` in the preset): torch's own
`AveragedModel` with `get_ema_multi_avg_fn`, buffers (batch-norm statistics) averaged too.

    ema = make_ema(module, spec)        # a copy of the module, on its device, in its layout
    update_ema(ema, module, epoch=e, spec=spec)   # after each optimizer step
    ema.module                          # the averaged network: evaluated, and kept as best/

The average only copies the weights during the first `warmup_epochs`; it averages after them.
With several ranks every rank's average stays equal: the parameters it follows are the same on
every rank (DDP all-reduces the gradients), and the buffers are rank 0's from each epoch's end
(`World.sync_buffers`, as for the module itself).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from hw3tui.preset.models import Ema


def make_ema(module: nn.Module, spec: Ema) -> AveragedModel:
    """An average that starts as a copy of `module` (AveragedModel deep-copies it)."""
    average = get_ema_multi_avg_fn(spec.decay)  # type: ignore[no-untyped-call]
    ema = AveragedModel(module, multi_avg_fn=average, use_buffers=True)
    ema.eval()  # never trained itself: its forward is only for evaluation
    return ema


@torch.no_grad()
def update_ema(ema: AveragedModel, module: nn.Module, *, epoch: int, spec: Ema) -> None:
    """After an optimizer step: average in `module`'s weights, or copy them during warmup (then
    `n_averaged` stays 0, so the first averaged step starts from the weights as they are)."""
    if epoch >= spec.warmup_epochs:
        ema.update_parameters(module)
        return
    averaged = [*ema.module.parameters(), *ema.module.buffers()]
    current = [*module.parameters(), *module.buffers()]
    for mine, theirs in zip(averaged, current, strict=True):
        mine.copy_(theirs)


def averaged_state(ema: AveragedModel) -> dict[str, torch.Tensor]:
    """The average as the plain network's state_dict (no `module.` prefix, no `n_averaged`):
    what best/ keeps, loadable by torchvision's model with strict=True."""
    return ema.module.state_dict()
