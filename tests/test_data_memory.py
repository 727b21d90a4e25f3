"""In-memory data: splits, batches, the datamodule on real MNIST, the torchvision-backed datasets."""

import pickle

import numpy as np
import pytest
import torch

from cnnexp.data.batches import EpochPermutation, TensorBatches
from cnnexp.data.datamodule import ImageDataModule
from cnnexp.data.splits import balanced_subset, holdout
from cnnexp.data.torchvision_sets import load_split

# Digits 0..9 in the official MNIST test set.
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_holdout_is_disjoint_complete_and_seeded():
    train, val = holdout(100, 20, seed=3)
    assert len(val) == 20 and len(train) == 80
    assert sorted(torch.cat([train, val]).tolist()) == list(range(100))
    assert torch.equal(holdout(100, 20, seed=3)[1], val)
    assert not torch.equal(holdout(100, 20, seed=4)[1], val)


def test_balanced_subset_has_equal_classes():
    labels = torch.arange(10).repeat_interleave(50)
    picked = balanced_subset(labels, 103, 10, seed=0)
    counts = torch.bincount(labels[picked], minlength=10).tolist()
    assert counts == [11, 11, 11, 10, 10, 10, 10, 10, 10, 10]
    with pytest.raises(ValueError, match="train_size=501"):
        balanced_subset(labels, 501, 10, seed=0)


def test_a_subset_larger_than_a_class_allows_takes_all_of_it_and_more_of_the_others():
    # Any train_size validation accepts can be drawn: no refusal after the labels are read.
    labels = torch.cat([torch.full((5,), 0), torch.full((30,), 1), torch.full((40,), 2)])
    counts = lambda size: torch.bincount(labels[balanced_subset(labels, size, 3, seed=0)], minlength=3).tolist()
    assert counts(15) == [5, 5, 5] and counts(16) == [5, 5, 6]
    assert counts(30) == [5, 12, 13]
    assert counts(31) == [5, 13, 13]
    assert counts(75) == [5, 30, 40]


def test_batches_cover_every_example_once_in_an_epoch_order():
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1)
    loader = TensorBatches(images, torch.arange(10), 4, EpochPermutation(10, seed=1))
    first = [y.tolist() for _, y in loader]
    assert [len(b) for b in first] == [4, 4, 2] and len(loader) == 3
    assert sorted(sum(first, [])) == list(range(10))
    assert [y.tolist() for _, y in loader] == first  # same (seed, epoch): same order
    loader.sampler.set_epoch(1)
    assert [y.tolist() for _, y in loader] != first
    x, y = next(iter(loader))
    assert x.dtype == torch.float32 and torch.equal(x.flatten() * 255, y.float())


def test_device_resident_data_gives_batches_on_that_device_in_the_host_order():
    # The meta device stands in for a GPU: whatever device holds the tensors, batches are sliced there.
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1)
    host = TensorBatches(images, torch.arange(10), 4, EpochPermutation(10, seed=1))
    meta = TensorBatches(images.to("meta"), torch.arange(10, device="meta"), 4, EpochPermutation(10, seed=1))
    batches = list(meta)
    assert [len(y) for _, y in batches] == [4, 4, 2]
    assert all(x.device.type == "meta" and y.device.type == "meta" and x.dtype == torch.float32 for x, y in batches)
    assert torch.equal(next(iter(host))[1], EpochPermutation(10, seed=1).indices()[:4])


def test_on_device_datamodule_copies_each_split_once_to_the_trainers_device(data_dir):
    from types import SimpleNamespace

    dm = ImageDataModule("mnist", str(data_dir), train_size=1000, val_size=500, seed=0, on_device=True)
    dm.setup()
    meta = SimpleNamespace(root_device=torch.device("meta"))
    dm.trainer = SimpleNamespace(strategy=meta, global_rank=0, world_size=1)
    loader = dm.train_dataloader()
    assert loader.images.device.type == "meta" and loader.labels.device.type == "meta"
    assert dm.train_dataloader().images is loader.images  # cached: one copy per split, not per epoch
    assert dm.test_dataloader().images.device.type == "meta"
    assert dm.splits["test"][0].device.type == "cpu"  # the invariance suite and users keep host tensors


@pytest.mark.slow
def test_on_device_run_matches_the_host_run(train_cfg, tmp_path):
    from cnnexp.training.run import train

    host = train(train_cfg("augment=shift"))
    device_cfg = train_cfg("augment=shift", "data.on_device=true", f"paths.root_dir={tmp_path / 'dev'}")
    device_cfg.paths.output_dir = str(tmp_path / "dev")
    on_device = train(device_cfg)
    for key in ("test/acc", "test/loss", "val/acc_best"):
        assert on_device[key] == host[key], key


def test_mnist_datamodule_uses_the_official_split(data_dir):
    dm = ImageDataModule("mnist", str(data_dir), val_size=5000, seed=0)
    dm.setup()
    (tx, ty), (vx, vy), (_, sy) = dm.splits["train"], dm.splits["val"], dm.splits["test"]
    assert (len(ty), len(vy), len(sy)) == (55_000, 5_000, 10_000)
    assert torch.bincount(sy).tolist() == MNIST_TEST_COUNTS
    assert tx.shape[1:] == (1, 28, 28) and tx.dtype == torch.uint8
    train_rows = {bytes(r) for r in tx[:2000].flatten(1).numpy()}
    assert not any(bytes(r) in train_rows for r in vx.flatten(1).numpy())


def test_train_size_gives_a_class_balanced_subset(data_dir):
    dm = ImageDataModule("mnist", str(data_dir), train_size=1000, seed=0)
    dm.setup()
    assert torch.bincount(dm.splits["train"][1]).tolist() == [100] * 10


def test_config_mean_std_are_the_training_images_statistics(data_dir, train_cfg):
    cfg = train_cfg()
    images = load_split("MNIST", data_dir, train=True).images.float() / 255
    assert images.mean().item() == pytest.approx(cfg.data.mean[0], abs=1e-4)
    assert images.std().item() == pytest.approx(cfg.data.std[0], abs=1e-4)


@pytest.mark.slow
def test_fashion_mnist_has_the_official_split_and_the_configs_statistics(fashion_dir):
    from cnnexp.config import compose

    data = compose("train", ["data=fashion_mnist", "paths.output_dir=x"]).data
    dm = ImageDataModule("fashion_mnist", str(fashion_dir), val_size=5000)
    dm.setup()
    assert [len(dm.splits[s][1]) for s in ("train", "val", "test")] == [55_000, 5_000, 10_000]
    assert torch.bincount(dm.splits["test"][1]).tolist() == [1000] * 10
    images = load_split("FashionMNIST", fashion_dir, train=True).images.float() / 255
    assert images.mean().item() == pytest.approx(data.mean[0], abs=1e-4)
    assert images.std().item() == pytest.approx(data.std[0], abs=1e-4)


def test_cifar10_loads_three_channels_in_rgb_order(tmp_path, monkeypatch):
    from torchvision.datasets import cifar

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (4, 3072), dtype=np.uint8)  # rows: 1024 R, 1024 G, 1024 B
        batches[name] = data
        with open(folder / name, "wb") as f:
            pickle.dump({"data": data, "labels": [0, 1, 2, 3]}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [str(i) for i in range(10)]}, f)
    # torchvision pins the md5 of the real CIFAR files; these small ones stand in for them.
    monkeypatch.setattr(cifar, "check_integrity", lambda *args, **kwargs: True)
    split = load_split("CIFAR10", tmp_path, train=False)
    assert split.images.shape == (4, 3, 32, 32)
    assert torch.equal(split.images[0, 1].flatten(), torch.from_numpy(batches["test_batch"][0, 1024:2048]))
