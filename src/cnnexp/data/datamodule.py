"""LightningDataModule over an image dataset held in memory as uint8 tensors.

Images leave it in pixel space [0, 1] at the dataset's own size; padding to the network's input
size and normalization are the model's first step (`module.Preprocess`), so invariance
transforms and augmentation work on real pixels.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch

from cnnexp.data.batches import EpochPermutation, TensorBatches
from cnnexp.data.datasets import ensure_files, load_dataset
from cnnexp.data.splits import balanced_subset, holdout


class ImageDataModule(L.LightningDataModule):
    def __init__(self, name: str = "mnist", data_dir: str = "data", channels: int = 1,
                 image_size: int = 28, num_classes: int = 10,
                 batch_size: int = 128, eval_batch_size: int = 1000, val_size: int = 5000,
                 train_size: int | None = None, seed: int = 0, download: bool = True,
                 mean: tuple[float, ...] = (), std: tuple[float, ...] = (), on_device: bool = False):
        super().__init__()
        self.name, self.data_dir, self.download = name, Path(data_dir), download
        self.channels, self.image_size, self.num_classes = channels, image_size, num_classes
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.val_size, self.train_size, self.seed = val_size, train_size, seed
        # The dataset's per-channel statistics; the model normalizes with them.
        self.mean, self.std = tuple(mean), tuple(std)
        self.on_device = on_device
        # On the host: the invariance suite and users read these.
        self.splits: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self._device_splits: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def prepare_data(self) -> None:
        """Verify (or fetch) the files: before any model exists, and again (without hashing) in fit and setup."""
        ensure_files(self.name, self.data_dir, self.download)

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        train, test = load_dataset(self.name, self.data_dir, self.download)
        expected = (self.channels, self.image_size, self.image_size)
        if tuple(train.images.shape[1:]) != expected:
            raise ValueError(f"{self.name} images are {tuple(train.images.shape[1:])}, config says {expected}")
        fit_idx, val_idx = holdout(len(train.labels), self.val_size, self.seed)
        if self.train_size is not None:
            fit_idx = fit_idx[balanced_subset(train.labels[fit_idx], self.train_size, self.num_classes, self.seed)]
        self.splits = {
            "train": (train.images[fit_idx].contiguous(), train.labels[fit_idx]),
            "val": (train.images[val_idx].contiguous(), train.labels[val_idx]),
            "test": (test.images, test.labels),
        }

    def loader_tensors(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """A split as the loaders slice it: on the host, or with `on_device` copied once to the
        trainer's device (where Lightning's per-batch transfer is then a no-op)."""
        if not self.on_device:
            return self.splits[split]
        if split not in self._device_splits:
            # Without a trainer (a datamodule used on its own) the host is the only device known.
            device = self.trainer.strategy.root_device if self.trainer is not None else torch.device("cpu")
            self._device_splits[split] = tuple(t.to(device) for t in self.splits[split])
        return self._device_splits[split]

    def _shard(self) -> dict[str, int]:
        """This process's share under DDP (Lightning's DistributedSampler only wraps DataLoaders)."""
        trainer = self.trainer
        return {"rank": trainer.global_rank, "world_size": trainer.world_size} if trainer is not None else {}

    def train_dataloader(self) -> TensorBatches:
        x, y = self.loader_tensors("train")
        return TensorBatches(x, y, self.batch_size, EpochPermutation(len(y), self.seed), **self._shard())

    def val_dataloader(self) -> TensorBatches:
        return TensorBatches(*self.loader_tensors("val"), self.eval_batch_size, **self._shard())

    def test_dataloader(self) -> TensorBatches:
        return TensorBatches(*self.loader_tensors("test"), self.eval_batch_size, **self._shard())
