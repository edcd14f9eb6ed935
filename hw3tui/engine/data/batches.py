"""An epoch's batches: uint8 images and labels on the training device, in a seeded order.

The order of epoch e is a pure function of (seed, e), so a resumed run replays it, and a run
stopped part way through an epoch can continue from the batch it stopped at. Cached images are
gathered straight from memory; streamed ones are decoded by DataLoader workers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import torch

from hw3tui.engine.data.datasets import CACHE_FRACTION, Split, read_image
from hw3tui.engine.seeds import Stream, torch_generator


def epoch_order(count: int, *, seed: int, epoch: int) -> torch.Tensor:
    """The shuffled order of an epoch: a pure function of (seed, epoch), so a resume replays it."""
    return torch.randperm(count, generator=torch_generator(seed, Stream.SHUFFLE, epoch))


def batch_slices(
    count: int, batch_size: int, *, drop_single: bool, ranks: int = 1
) -> list[tuple[int, int]]:
    """(start, stop) of each batch; when training, a last batch that would leave a process (of
    `ranks` sharing each batch) a single image is dropped, since batch norm cannot train on one."""
    slices = [(start, min(start + batch_size, count)) for start in range(0, count, batch_size)]
    if drop_single and len(slices) > 1 and slices[-1][1] - slices[-1][0] < 2 * ranks:
        slices.pop()
    return slices


class FileImages(torch.utils.data.Dataset[tuple[torch.Tensor, int]]):
    """Streamed images, decoded from their files by loader workers."""

    def __init__(self, files: Sequence[Path], labels: torch.Tensor, size: int) -> None:
        self.files = list(files)
        self.labels = labels.tolist()
        self.size = size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        pixels = read_image(self.files[index], self.size).transpose(2, 0, 1).copy()
        return torch.from_numpy(pixels), self.labels[index]


class EpochBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Batches of indices for the current epoch; `set_epoch` moves it on without a new loader, so
    persistent workers survive from one epoch to the next.

    With several processes (`shard=(rank, ranks)`) every rank draws the same order and the same
    batches, and takes every `ranks`-th image of each batch from its rank on (see `distributed`).
    """

    def __init__(
        self,
        count: int,
        batch_size: int,
        *,
        seed: int,
        shuffle: bool,
        shard: tuple[int, int] = (0, 1),
    ) -> None:
        self.count, self.batch_size, self.seed, self.shuffle = count, batch_size, seed, shuffle
        self.rank, self.ranks = shard
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def __len__(self) -> int:
        return len(self._all_slices())

    def _all_slices(self) -> list[tuple[int, int]]:
        return batch_slices(self.count, self.batch_size, drop_single=self.shuffle, ranks=self.ranks)

    def part(self, start: int, stop: int) -> slice:
        """This rank's positions of the batch at [start, stop) of `order()` (none for a last
        validation batch of fewer images than ranks; a training batch has some for every rank)."""
        return slice(start + self.rank, stop, self.ranks)

    def share(self, step: int) -> float:
        """This rank's images in batch `step` as a multiple of an even split: 1.0 unless the batch
        splits unevenly among the ranks. Weighting each rank's mean loss by it makes the average
        of the ranks' gradients (what DDP computes) the gradient of the whole batch's mean loss."""
        if self.ranks == 1:
            return 1.0
        start, stop = self._all_slices()[step]
        return self.ranks * len(range(start + self.rank, stop, self.ranks)) / (stop - start)

    def order(self) -> torch.Tensor:
        """Every index of the current epoch, in its order."""
        if self.shuffle:
            return epoch_order(self.count, seed=self.seed, epoch=self.epoch)
        return torch.arange(self.count)

    def slices(self) -> list[tuple[int, int]]:
        """(start, stop) in `order()` of each batch still to come this epoch."""
        return self._all_slices()[self.start :]

    def __iter__(self) -> Iterator[list[int]]:
        order = self.order()
        for start, stop in self.slices():
            if start + self.rank < stop:
                yield order[self.part(start, stop)].tolist()


Batch = tuple[torch.Tensor, torch.Tensor]


class Batches:
    """An epoch's uint8 image batches and labels, already on the training device.

    Cached images are gathered straight from the in-memory tensor (no loader, no workers: on a
    small CPU, workers only steal cores from the model); streamed ones come through a DataLoader
    whose workers decode files.
    """

    def __init__(
        self,
        split: Split,
        *,
        batch_size: int,
        seed: int,
        shuffle: bool,
        device: torch.device,
        workers: int,
        shard: tuple[int, int] = (0, 1),
        previous: Batches | None = None,
    ) -> None:
        """`previous`: the same split's batches at another batch size, whose copy of the images
        on the device is taken over (a second copy would not fit beside it while it is still
        referenced, and the rest of the run would gather on the CPU and copy every batch)."""
        self.split, self.batch_size, self.device = split, batch_size, device
        self.sampler = EpochBatchSampler(
            len(split), batch_size, seed=seed, shuffle=shuffle, shard=shard
        )
        self.pin = device.type == "cuda"
        self.images = split.images
        self.labels = split.labels
        if previous is not None and previous.split is split and previous.device == device:
            self.images, self.labels = previous.images, previous.labels
        elif self.images is not None and device.type != "cpu" and _fits_on(device, self.images):
            # resident on the accelerator: batches are gathered there, no copies per step
            self.images = self.images.to(device)
            self.labels = self.labels.to(device)
        self.loader: torch.utils.data.DataLoader[tuple[torch.Tensor, int]] | None = None
        if self.images is None:
            assert split.files is not None
            self.loader = torch.utils.data.DataLoader(
                FileImages(split.files, split.labels, split.size),
                batch_sampler=self.sampler,
                num_workers=workers,
                pin_memory=self.pin,
                persistent_workers=workers > 0,
                prefetch_factor=4 if workers > 0 else None,
            )

    def __len__(self) -> int:
        return len(self.sampler)

    def share(self, step: int) -> float:
        """This rank's share of batch `step` (`EpochBatchSampler.share`): 1.0 for one process."""
        return self.sampler.share(step)

    def epoch(self, epoch: int, start: int = 0) -> Iterator[Batch]:
        """The batches of `epoch`, from batch `start` on (a resumed epoch skips the done ones)."""
        self.sampler.set_epoch(epoch, start)
        if self.loader is not None:
            for images, labels in self.loader:
                yield self._to_device(images, labels)
            return
        assert self.images is not None
        # one copy of the epoch's order to where the images are; each batch's indices are then a
        # slice of it (building them from a list every step would be a blocking copy on a GPU)
        order = self.sampler.order().to(self.images.device)
        for start, stop in self.sampler.slices():
            if start + self.sampler.rank >= stop:
                continue  # a last validation batch with nothing for this rank
            where = order[self.sampler.part(start, stop)]
            yield self._to_device(self.images[where], self.labels[where])

    def _to_device(self, images: torch.Tensor, labels: torch.Tensor) -> Batch:
        if images.device == self.device:
            return images, labels
        if self.pin and not images.is_pinned():
            images, labels = images.pin_memory(), labels.pin_memory()
        return (
            images.to(self.device, non_blocking=True),
            labels.to(self.device, non_blocking=True),
        )


def _fits_on(device: torch.device, images: torch.Tensor) -> bool:
    if device.type != "cuda":
        return False
    free, _total = torch.cuda.mem_get_info(device)
    return images.nbytes <= CACHE_FRACTION * free
