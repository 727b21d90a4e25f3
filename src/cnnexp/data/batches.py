"""Batches sliced from tensors held in memory: no per-sample Dataset/collate on the hot path.

On a 2-core machine DataLoader workers and per-sample transforms cost more than the model;
slicing whole batches out of one uint8 tensor keeps the data path near free.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch


class EpochPermutation:
    """Shuffle order derived from (seed, epoch) only, so a resumed run sees the same batches.

    Lightning calls `set_epoch` on a loader's `sampler` before every training epoch.
    """

    def __init__(self, n: int, seed: int):
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def indices(self) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return torch.randperm(self.n, generator=g)


class TensorBatches:
    """Iterable of (images float in [0, 1], labels) batches from uint8 images held in memory
    (host or device memory: batches come out on the images' device).

    Under DDP each of `world_size` processes iterates over its own share (`rank`): training takes
    every world_size-th index of the epoch's permutation, cut to equal lengths so the processes
    step in lockstep; evaluation takes a contiguous block, every example exactly once.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int,
                 sampler: EpochPermutation | None = None, rank: int = 0, world_size: int = 1):
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images, self.labels, self.batch_size, self.sampler = images, labels, batch_size, sampler
        self.rank, self.world_size = rank, world_size
        # Lightning duck-types loaders: it reads `sampler` (to call set_epoch) and `batch_sampler`.
        self.batch_sampler = None

    def _share(self) -> tuple[int, int]:
        n = len(self.labels)
        if self.sampler is not None:
            return 0, n // self.world_size
        return self.rank * n // self.world_size, (self.rank + 1) * n // self.world_size

    def __len__(self) -> int:
        lo, hi = self._share()
        return math.ceil((hi - lo) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        lo, hi = self._share()
        order = None
        if self.sampler is not None:
            # The order is drawn on the host (same order wherever the data lives), then copied to the
            # images' device once per epoch, not per batch.
            order = self.sampler.indices()[self.rank::self.world_size][:hi].to(self.images.device)
        for start in range(lo, hi, self.batch_size):
            stop = min(start + self.batch_size, hi)
            if order is None:
                x, y = self.images[start:stop], self.labels[start:stop]
            else:
                idx = order[start:stop]
                x, y = self.images[idx], self.labels[idx]
            yield x.float().div_(255.0), y
