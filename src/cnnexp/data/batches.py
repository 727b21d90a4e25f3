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
    (host or device memory: batches come out on the images' device)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int,
                 sampler: EpochPermutation | None = None):
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images, self.labels, self.batch_size, self.sampler = images, labels, batch_size, sampler
        # Lightning duck-types loaders: it reads `sampler` (to call set_epoch) and `batch_sampler`.
        self.batch_sampler = None

    def __len__(self) -> int:
        return math.ceil(len(self.labels) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        # The order is drawn on the host (same order wherever the data lives), then copied to the
        # images' device once per epoch, not per batch.
        order = self.sampler.indices().to(self.images.device) if self.sampler is not None else None
        for start in range(0, len(self.labels), self.batch_size):
            if order is None:
                x, y = self.images[start:start + self.batch_size], self.labels[start:start + self.batch_size]
            else:
                idx = order[start:start + self.batch_size]
                x, y = self.images[idx], self.labels[idx]
            yield x.float().div_(255.0), y
