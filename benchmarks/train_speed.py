"""Training throughput: cnnexp's Lightning path against a hand-written loop, same model and data.

Both sides train LeNet-5 on full MNIST (batch 128, the config's AdamW + one-cycle, `--threads`
threads) for one epoch, alternating, `--rounds` times each; prints images/s of each side and the
median ratio. The hand-written side is the loop a user would write over the same in-memory
tensors: same model, batch, optimizer settings, schedule and thread count.

A third side, the same step in the smallest LightningModule Lightning allows (manual optimization,
no logger, no callbacks), shows how much of the gap is Lightning's own per-step loop rather than
cnnexp's: cnnexp cannot be faster than that floor while it runs on Lightning's Trainer.

Each side runs with the process settings it would have on its own: `import lightning` switches on
an NVML-based CUDA check that AdamW pays on every step (see cnnexp/cuda_check.py), so the
hand-written side runs without it (its script never imports Lightning), the bare Lightning side
with it, and cnnexp with it until `train` drops it.

    .venv/bin/python benchmarks/train_speed.py [--rounds 3] [--epochs 1] [--threads 2]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from cnnexp.callbacks.throughput import TrainThroughput
from cnnexp.classifier import Preprocess
from cnnexp.cli import CONF_DIR
from cnnexp.console import quiet_lightning
from cnnexp.cuda_check import NVML_CHECK
from cnnexp.data.batches import EpochPermutation, TensorBatches
from cnnexp.data.datamodule import ImageDataModule
from cnnexp.models.lenet5 import LeNet5
from cnnexp.train import train

REPO = Path(__file__).resolve().parents[1]


def _net_and_optim(dm: ImageDataModule, epochs: int, optim: DictConfig
                   ) -> tuple[torch.nn.Module, torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """LeNet-5 with the config's AdamW and one-cycle schedule, the same start for every side."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(Preprocess(dm.mean, dm.std, pad=2), LeNet5())
    steps = epochs * -(-len(dm.splits["train"][1]) // dm.batch_size)
    opt = torch.optim.AdamW(net.parameters(), lr=optim.optimizer.lr, weight_decay=optim.optimizer.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=optim.scheduler.max_lr, total_steps=steps,
                                                pct_start=optim.scheduler.pct_start)
    return net, opt, sched


@contextlib.contextmanager
def _lightning_imported(imported: bool):
    """The NVML check as `import lightning` leaves it (on), or as a plain torch process has it (off)."""
    before = os.environ.pop(NVML_CHECK, None)
    if imported:
        os.environ[NVML_CHECK] = "1"
    try:
        yield
    finally:
        os.environ.pop(NVML_CHECK, None)
        if before is not None:
            os.environ[NVML_CHECK] = before


def hand_written(dm: ImageDataModule, epochs: int, optim: DictConfig) -> float:
    """The loop a user would write: in-memory tensors, random permutation, slice, step."""
    net, opt, sched = _net_and_optim(dm, epochs, optim)
    x_all, y_all = dm.splits["train"]
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(y_all))
        for i in range(0, len(y_all), dm.batch_size):
            idx = perm[i:i + dm.batch_size]
            x, y = x_all[idx].float().div_(255), y_all[idx]
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return epochs * len(y_all) / (time.perf_counter() - start)


class _MinimalModule(L.LightningModule):
    """The hand-written step inside Lightning, nothing else: no metrics, logging or hooks of its own."""

    def __init__(self, net, opt, sched):
        super().__init__()
        self.net, self._opt, self._sched = net, opt, sched
        self.automatic_optimization = False

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self.net(x), y)
        opt = self.optimizers()
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        opt.step()
        self._sched.step()

    def configure_optimizers(self):
        return self._opt


def lightning_floor(dm: ImageDataModule, epochs: int, optim: DictConfig) -> float:
    """Images/s of the hand-written step run by Lightning's Trainer with every extra turned off."""
    timer = TrainThroughput()
    with tempfile.TemporaryDirectory() as tmp:
        trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", logger=False, callbacks=[timer],
                            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                            default_root_dir=tmp)
        x, y = dm.splits["train"]
        trainer.fit(_MinimalModule(*_net_and_optim(dm, epochs, optim)),
                    train_dataloaders=TensorBatches(x, y, dm.batch_size, EpochPermutation(len(y), 0)))
    return timer.images_per_second


def config(data_dir: Path, root_dir: str, epochs: int, threads: int) -> DictConfig:
    with initialize_config_dir(version_base="1.3", config_dir=CONF_DIR):
        cfg = compose("train", overrides=[f"paths.data_dir={data_dir}", f"paths.root_dir={root_dir}",
                                          "data.batch_size=128", f"trainer.max_epochs={epochs}", f"threads={threads}",
                                          "trainer.enable_progress_bar=false", "trainer.accelerator=cpu",
                                          "invariance=none"])
    cfg.paths.output_dir = f"{root_dir}/run"
    return cfg


def cnnexp_path(epochs: int, data_dir: Path, threads: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        return train(config(data_dir, tmp, epochs, threads))["throughput/train_img_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    optim = config(args.data_dir, "unused", args.epochs, args.threads).optim
    dm = ImageDataModule("mnist", str(args.data_dir), batch_size=128, mean=(0.1307,), std=(0.3081,))
    dm.setup()
    quiet_lightning()
    hand, floor, ours = [], [], []
    for r in range(args.rounds):
        with _lightning_imported(False):
            hand.append(hand_written(dm, args.epochs, optim))
        with _lightning_imported(True):
            floor.append(lightning_floor(dm, args.epochs, optim))
        with _lightning_imported(True):
            ours.append(cnnexp_path(args.epochs, args.data_dir, args.threads))
        print(f"round {r + 1}: hand-written {hand[-1]:,.0f} img/s, bare Lightning {floor[-1]:,.0f} img/s "
              f"(ratio {floor[-1] / hand[-1]:.3f}), cnnexp {ours[-1]:,.0f} img/s (ratio {ours[-1] / hand[-1]:.3f})",
              flush=True)
    median = statistics.median
    print(f"median: hand-written {median(hand):,.0f} img/s, bare Lightning {median(floor):,.0f} img/s, "
          f"cnnexp {median(ours):,.0f} img/s (threads={torch.get_num_threads()})")
    print(f"median ratio to the hand-written loop: bare Lightning {median(f / h for f, h in zip(floor, hand)):.3f}, "
          f"cnnexp {median(o / h for o, h in zip(ours, hand)):.3f} (target >= 0.95)")


if __name__ == "__main__":
    main()
