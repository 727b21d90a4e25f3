"""Geometric transforms on whole batches of pixel-space images (N, C, H, W) in [0, 1].

Evaluation and training augmentation share these. Vacated pixels are filled with 0, the
background of MNIST-like digits. All ops are torchvision `transforms.v2` functional calls on the
batch: no per-image Python loop.
"""

from __future__ import annotations

import torch
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as TF


def shift(x: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Move the content by whole pixels: positive dx = right, positive dy = down."""
    return TF.affine(x, angle=0.0, translate=[int(dx), int(dy)], scale=1.0, shear=[0.0, 0.0],
                     interpolation=InterpolationMode.NEAREST, fill=0.0)


def rotate(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Rotate counter-clockwise by `degrees` about the image centre, bilinear."""
    return TF.rotate(x, float(degrees), interpolation=InterpolationMode.BILINEAR, fill=0.0)


def scale(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Zoom by `factor` about the image centre (> 1 enlarges), bilinear."""
    return TF.affine(x, angle=0.0, translate=[0, 0], scale=float(factor), shear=[0.0, 0.0],
                     interpolation=InterpolationMode.BILINEAR, fill=0.0)


FAMILIES = {
    "shift_x": lambda x, v: shift(x, int(v), 0),
    "shift_y": lambda x, v: shift(x, 0, int(v)),
    "rotate": rotate,
    "scale": scale,
}
