"""Geometric transforms on whole batches of pixel-space images (N, C, H, W) in [0, 1].

Evaluation and training augmentation share `affine`. Vacated pixels are filled with 0, the
background of MNIST-like digits. Every call is one torchvision `transforms.v2` functional op on
the whole batch (whole-pixel shifts are a pad-and-crop): no per-image Python loop.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as TF


def affine(x: torch.Tensor, dx: int = 0, dy: int = 0, degrees: float = 0.0, factor: float = 1.0,
           interpolation: InterpolationMode = InterpolationMode.BILINEAR) -> torch.Tensor:
    """Scale by `factor` and rotate `degrees` counter-clockwise about the centre, then move the
    content by (dx, dy) whole pixels (+ = right / down)."""
    if degrees % 360 == 0 and factor == 1:
        # A pure whole-pixel move: nearest sampling makes it exact (bilinear adds ~1e-6 grid error).
        interpolation = InterpolationMode.NEAREST
    # torchvision's affine angle turns clockwise; the lecture's and our convention is counter-clockwise.
    return TF.affine(x, angle=-float(degrees), translate=[int(dx), int(dy)], scale=float(factor),
                     shear=[0.0, 0.0], interpolation=interpolation, fill=0.0)


def shift(x: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Move the content by whole pixels: positive dx = right, positive dy = down.

    Same result as `affine(x, dx, dy)`, but as a pad-and-crop (negative padding crops), which is
    exact and ~10x cheaper than resampling: shifts dominate the suite's grid.
    """
    dx, dy = int(dx), int(dy)
    return F.pad(x, (dx, -dx, dy, -dy))


def rotate(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Rotate counter-clockwise by `degrees` about the image centre, bilinear."""
    return affine(x, degrees=degrees)


def scale(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Zoom by `factor` about the image centre (> 1 enlarges), bilinear."""
    return affine(x, factor=factor)


FAMILIES = {
    "shift_x": lambda x, v: shift(x, int(v), 0),
    "shift_y": lambda x, v: shift(x, 0, int(v)),
    "rotate": rotate,
    "scale": scale,
}
