"""Training augmentation on whole batches, with the evaluation's own `affine` transform.

A batch is split into a few groups, each moved, rotated and scaled by its own random draw: one
batched torchvision op per group instead of one per image. The draws depend only on
(seed, global step), so a resumed run augments exactly as an uninterrupted one.
"""

from __future__ import annotations

import torch

from cnnexp.invariance.transforms import affine


class BatchAugment:
    def __init__(self, max_shift: int = 0, max_degrees: float = 0.0, scale_range: tuple[float, float] = (1.0, 1.0),
                 groups: int = 8, seed: int = 0):
        self.max_shift, self.max_degrees = int(max_shift), float(max_degrees)
        self.scale_range = (float(scale_range[0]), float(scale_range[1]))
        self.groups, self.seed = groups, seed

    @property
    def is_identity(self) -> bool:
        return self.max_shift == 0 and self.max_degrees == 0 and self.scale_range == (1.0, 1.0)

    def __call__(self, x: torch.Tensor, step: int) -> torch.Tensor:
        if self.is_identity:
            return x
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        lo, hi = self.scale_range
        out = []
        for chunk in x.chunk(self.groups):
            dx, dy = torch.randint(-self.max_shift, self.max_shift + 1, (2,), generator=g).tolist()
            degrees = (torch.rand((), generator=g).item() * 2 - 1) * self.max_degrees
            factor = lo + torch.rand((), generator=g).item() * (hi - lo)
            out.append(affine(chunk, dx, dy, degrees, factor))
        return torch.cat(out)
