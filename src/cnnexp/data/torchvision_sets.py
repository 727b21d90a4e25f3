"""MNIST, Fashion-MNIST and CIFAR-10 read through torchvision into uint8 NCHW tensors."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision.datasets as tvd

from cnnexp.errors import DataUnavailable


@dataclass(frozen=True)
class Split:
    images: torch.Tensor  # uint8 (N, C, H, W), pixel values 0..255
    labels: torch.Tensor  # int64 (N,)


def _dataset(cls_name: str, root: Path, train: bool, download: bool):
    cls = getattr(tvd, cls_name)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return cls(str(root), train=train, download=download)
    except Exception as e:  # torchvision raises RuntimeError/URLError/OSError for missing or unreachable data
        where = Path(root) / (cls.__name__ if cls_name != "CIFAR10" else "cifar-10-batches-py")
        how = "its download failed (no network?)" if download else "download is off"
        raise DataUnavailable(
            f"{cls_name} is not in {where} and {how}: {type(e).__name__}: {str(e).strip()[:200]}. "
            f"Put torchvision's files for {cls_name} there by hand or allow the download."
        ) from None


def load_split(cls_name: str, root: Path, train: bool, download: bool) -> Split:
    ds = _dataset(cls_name, root, train, download)
    data = torch.as_tensor(ds.data)
    # MNIST-style sets hold (N, H, W); CIFAR holds (N, H, W, C) as numpy.
    images = data.unsqueeze(1) if data.ndim == 3 else data.permute(0, 3, 1, 2)
    labels = torch.as_tensor(ds.targets, dtype=torch.int64)
    return Split(images.contiguous(), labels)
