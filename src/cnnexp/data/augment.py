"""Training augmentation on whole batches, with the evaluation's geometry (`invariance.transforms`).

Every image gets its own random move, rotation and scale, applied to the whole batch by one
`warp` (one `grid_sample`) on whatever device the batch is on. The draws depend only on
(seed, global step), so a resumed run augments exactly as an uninterrupted one.
"""

from __future__ import annotations

import torch

from cnnexp.invariance.transforms import warp


class BatchAugment:
    def __init__(self, max_shift: int = 0, max_degrees: float = 0.0, scale_range: tuple[float, float] = (1.0, 1.0),
                 seed: int = 0):
        self.max_shift, self.max_degrees = int(max_shift), float(max_degrees)
        self.scale_range = (float(scale_range[0]), float(scale_range[1]))
        self.seed = seed

    @property
    def is_identity(self) -> bool:
        return self.max_shift == 0 and self.is_shift_only

    @property
    def is_shift_only(self) -> bool:
        return self.max_degrees == 0 and self.scale_range == (1.0, 1.0)

    def __call__(self, x: torch.Tensor, step: int) -> torch.Tensor:
        if self.is_identity:
            return x
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        n, lo, hi = len(x), *self.scale_range
        dx, dy = torch.randint(-self.max_shift, self.max_shift + 1, (2, n), generator=g)
        degrees = (torch.rand(n, generator=g) * 2 - 1) * self.max_degrees
        factor = lo + torch.rand(n, generator=g) * (hi - lo)
        return warp(x, dx, dy, degrees, factor, nearest=self.is_shift_only)
