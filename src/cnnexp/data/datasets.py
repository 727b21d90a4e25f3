"""Dataset names accepted by `data.name`, their verified files, and loading them as in-memory tensors.

Torch-free at import (config validation reads DATASETS); the loaders import torchvision when called.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnnexp.data.torchvision_sets import Split



@dataclass(frozen=True)
class Source:
    title: str  # the name readers know it by
    torchvision: str  # torchvision's dataset class, which reads the files
    train_images: int  # the official training set's size: validation bounds the splits with it
    channels: int
    image_size: int  # pixels a side (square images)
    num_classes: int


# data.name -> its source; cnnexp/data/<name>.py holds the official files' md5s and the routes to them. The
# facts reach conf/data/<name>.yaml through ${dataset:KEY}, so each is written here only.
SOURCES = {"mnist": Source("MNIST", "MNIST", 60_000, 1, 28, 10),
           "fashion_mnist": Source("Fashion-MNIST", "FashionMNIST", 60_000, 1, 28, 10),
           "cifar10": Source("CIFAR-10", "CIFAR10", 50_000, 3, 32, 10)}
DATASETS = tuple(SOURCES)


def fact(key: str, *, _parent_) -> int | None:
    """${dataset:KEY} in a data config: the fact `key` of the dataset its `name` names (None for an unknown
    name, which validation then refuses by name)."""
    source = SOURCES.get(_parent_.name)
    return getattr(source, key) if source else None


def ensure_files(name: str, data_dir: str | Path, download: bool = True) -> Path:
    """The folder of `name`'s official files, each checked against its md5; fetched by the dataset's
    routes if needed (none with `download=False`), else a one-line DataUnavailable."""
    from cnnexp.data.verified import ensure

    module = importlib.import_module(f"cnnexp.data.{name}")
    return ensure(module.FILES, data_dir, module.ROUTES if download else ())


def load_dataset(name: str, data_dir: str | Path, download: bool = True) -> tuple[Split, Split]:
    """(official train, official test) of dataset `name`, its files verified first (hashed once per process)."""
    from cnnexp.data.torchvision_sets import load_split

    ensure_files(name, data_dir, download)
    cls = SOURCES[name].torchvision
    return load_split(cls, Path(data_dir), True), load_split(cls, Path(data_dir), False)
