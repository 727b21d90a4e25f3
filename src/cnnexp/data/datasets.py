"""Dataset names accepted by `data.name` and how to load each as in-memory tensors."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch-free at import: config validation reads DATASETS
    from cnnexp.data.torchvision_sets import Split


TORCHVISION_CLASS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR10"}
DATASETS = tuple(TORCHVISION_CLASS)


def load_dataset(name: str, data_dir: str | Path, download: bool = True,
                 verified: bool = False) -> tuple[Split, Split]:
    """(official train, official test) of dataset `name`; `verified`: its files were checked already
    in this process (MNIST's are hashed, 55 MB, once per run)."""
    from cnnexp.data.torchvision_sets import load_split

    if name not in TORCHVISION_CLASS:
        raise ValueError(f"dataset {name!r} is not one of {', '.join(DATASETS)}")
    if name == "mnist":
        # MNIST's own mirrors are unreachable on many machines: verify or fetch by our routes first.
        from cnnexp.data.mnist import ensure_mnist

        if not verified:
            ensure_mnist(data_dir)
        download = False
    cls = TORCHVISION_CLASS[name]
    return load_split(cls, Path(data_dir), True, download), load_split(cls, Path(data_dir), False, download)
