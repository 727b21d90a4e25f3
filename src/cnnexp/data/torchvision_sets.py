"""MNIST, Fashion-MNIST and CIFAR-10 read through torchvision into uint8 NCHW tensors, from files
already verified (cnnexp.data.datasets.ensure_files)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision.datasets as tvd


@dataclass(frozen=True)
class Split:
    images: torch.Tensor  # uint8 (N, C, H, W), pixel values 0..255
    labels: torch.Tensor  # int64 (N,)


def load_split(cls_name: str, root: Path, train: bool) -> Split:
    ds = getattr(tvd, cls_name)(str(root), train=train, download=False)
    data = torch.as_tensor(ds.data)
    # MNIST-style sets hold (N, H, W); CIFAR holds (N, H, W, C) as numpy.
    images = data.unsqueeze(1) if data.ndim == 3 else data.permute(0, 3, 1, 2)
    labels = torch.as_tensor(ds.targets, dtype=torch.int64)
    return Split(images.contiguous(), labels)
