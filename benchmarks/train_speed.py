"""Training throughput: cnnexp's Lightning path against a hand-written loop, same model and data.

Both sides train LeNet-5 on full MNIST (batch 128, the config's AdamW + one-cycle, `--threads`
threads) for `--epochs` epochs. The hand-written side is the loop a user would write over the same
in-memory tensors: same model, batch, optimizer settings, schedule and thread count.

This machine's speed drifts by tens of percent within a minute, so whole runs one after the other
compare two different machines. The sides are interleaved instead: after every `--segment`
training steps of the framework side, a callback runs as many hand-written steps (its own network,
optimizer and shuffle), and each side's clock runs only during its own steps. Both see the same
machine, to within a second.

Each round does this twice: against cnnexp's `train(cfg)`, and against the same step in the
smallest LightningModule Lightning allows (manual optimization, no logger, no callback but the
interleaving one). The second shows Lightning's own per-step cost, a floor cnnexp cannot go below
while it runs on Lightning's Trainer.

Each side runs with the process settings it would have on its own: `import lightning` switches on
an NVML-based CUDA check that AdamW pays on every step (see cnnexp/runtime.py). The hand-written
steps run without it (their script would never import Lightning), bare Lightning with it, and
cnnexp with whatever `train` leaves (it drops the check for CPU runs).

    .venv/bin/python benchmarks/train_speed.py [--rounds 3] [--epochs 1] [--segment 50] [--threads 2]
                                               [--train-size N]  (a class-balanced subset, for a quick check)
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
from hydra.utils import instantiate
from omegaconf import DictConfig

from cnnexp.classifier import Preprocess, use_memory_format
from cnnexp.config import compose
from cnnexp.data.batches import EpochPermutation, TensorBatches
from cnnexp.data.datamodule import ImageDataModule
from cnnexp.models.lenet5 import LeNet5
from cnnexp.runtime import NVML_CHECK, keep_freed_memory, quiet_lightning
from cnnexp.training.run import train

REPO = Path(__file__).resolve().parents[1]


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


def net_and_optim(dm: ImageDataModule, epochs: int, optim: DictConfig, memory_format: str = "contiguous"
                   ) -> tuple[torch.nn.Module, torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """LeNet-5 with the config's AdamW and one-cycle schedule, the same start for every side (also the
    GPU check's hand-written loop), its 4-D weights stored as `memory_format`."""
    torch.manual_seed(0)
    net = use_memory_format(torch.nn.Sequential(Preprocess(dm.mean, dm.std, size=32), LeNet5()), memory_format)
    steps = epochs * -(-len(dm.splits["train"][1]) // dm.batch_size)
    opt = torch.optim.AdamW(net.parameters(), lr=optim.optimizer.lr, weight_decay=optim.optimizer.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=optim.scheduler.max_lr, total_steps=steps,
                                                pct_start=optim.scheduler.pct_start)
    return net, opt, sched


class HandWritten:
    """The loop a user would write: in-memory tensors, a random permutation per epoch, slice, step.
    `run(n)` takes the next n steps, so the loop can be cut into segments. `memory_format`: contiguous
    is the naive loop, channels_last the one optimised as cnnexp's model is."""

    def __init__(self, dm: ImageDataModule, epochs: int, optim: DictConfig, memory_format: str = "contiguous"):
        self.net, self.opt, self.sched = net_and_optim(dm, epochs, optim, memory_format)
        self.x_all, self.y_all = dm.splits["train"]
        self.batch_size = dm.batch_size
        self.starts = range(0, len(self.y_all), self.batch_size)
        self.perm, self.next = torch.empty(0, dtype=torch.long), len(self.starts)
        self.images, self.seconds = 0, 0.0

    def run(self, steps: int) -> None:
        start = time.perf_counter()
        for _ in range(steps):
            if self.next == len(self.starts):
                self.perm, self.next = torch.randperm(len(self.y_all)), 0
            i = self.starts[self.next]
            self.next += 1
            idx = self.perm[i:i + self.batch_size]
            x, y = self.x_all[idx].float().div_(255), self.y_all[idx]
            loss = F.cross_entropy(self.net(x), y)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            self.sched.step()
            self.images += len(y)
        self.seconds += time.perf_counter() - start


class Interleave(L.Callback):
    """Times the trainer's training steps; after every `segment` of them (and at each epoch's end)
    runs as many steps of each hand-written loop, each on a clock of its own."""

    def __init__(self, hands: list[HandWritten], segment: int):
        self.hands, self.segment = hands, segment
        self.images, self.seconds = 0, 0.0
        self._start, self._steps = 0.0, 0

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._start, self._steps = time.perf_counter(), 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.images += len(batch[-1])
        self._steps += 1
        if self._steps < self.segment and batch_idx + 1 < trainer.num_training_batches:
            return
        self.seconds += time.perf_counter() - self._start
        with _lightning_imported(False):
            for hand in self.hands:
                hand.run(self._steps)
        self._start, self._steps = time.perf_counter(), 0

    def speeds(self) -> list[float]:
        """Images/s of the trainer, then of each hand-written loop."""
        if any(self.images != hand.images for hand in self.hands):
            raise RuntimeError(f"unequal work: {self.images} images through the trainer, "
                               f"{[hand.images for hand in self.hands]} by hand")
        return [self.images / self.seconds, *(hand.images / hand.seconds for hand in self.hands)]


def hand_written(dm: ImageDataModule, epochs: int, optim: DictConfig) -> list[HandWritten]:
    """The naive hand-written loop (eager, NCHW) and the one optimised like cnnexp's model (channels_last)."""
    return [HandWritten(dm, epochs, optim, "contiguous"), HandWritten(dm, epochs, optim, "channels_last")]


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


def lightning_floor(dm: ImageDataModule, epochs: int, optim: DictConfig, segment: int) -> list[float]:
    """Images/s of the optimised hand-written step run by Lightning's Trainer with every extra off, and of
    the hand-written loops interleaved with it."""
    timer = Interleave(hand_written(dm, epochs, optim), segment)
    with tempfile.TemporaryDirectory() as tmp, _lightning_imported(True):
        trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", logger=False, callbacks=[timer],
                            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                            default_root_dir=tmp)
        x, y = dm.splits["train"]
        trainer.fit(_MinimalModule(*net_and_optim(dm, epochs, optim, "channels_last")),
                    train_dataloaders=TensorBatches(x, y, dm.batch_size, EpochPermutation(len(y), 0)))
    return timer.speeds()


def config(data_dir: Path, root_dir: str, epochs: int, threads: int, train_size: int | None) -> DictConfig:
    cfg = compose("train", [f"paths.data_dir={data_dir}", f"paths.root_dir={root_dir}", "data.batch_size=128",
                            f"trainer.max_epochs={epochs}", f"threads={threads}", "trainer.enable_progress_bar=false",
                            "trainer.accelerator=cpu", "invariance=none", f"data.train_size={train_size or 'null'}"])
    cfg.paths.output_dir = f"{root_dir}/run"
    return cfg


def cnnexp_path(dm: ImageDataModule, epochs: int, optim: DictConfig, segment: int, data_dir: Path,
                threads: int) -> list[float]:
    """Images/s of cnnexp-train's own `train(cfg)` (its default memory format), and of the hand-written
    loops interleaved with it (cnnexp's throughput metric would count the hand-written steps too: the
    callback's clock is used)."""
    timer = Interleave(hand_written(dm, epochs, optim), segment)
    with tempfile.TemporaryDirectory() as tmp, _lightning_imported(True):
        train(config(data_dir, tmp, epochs, threads, dm.train_size), extra_callbacks=[timer])
    return timer.speeds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--segment", type=int, default=50, help="steps of one side before the other's turn")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train-size", type=int, default=None, help="training images (default: all)")
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    args = parser.parse_args()
    keep_freed_memory()  # as cnnexp's commands do (both sides share the process)
    torch.set_num_threads(args.threads)
    cfg = config(args.data_dir, "unused", args.epochs, args.threads, args.train_size)
    optim = cfg.optim
    dm = instantiate(cfg.data)  # the split, batch size and pixel statistics cnnexp's own run uses
    dm.setup()
    quiet_lightning()
    floor, ours = [], []
    for r in range(args.rounds):
        sides = (("bare Lightning", floor, lambda: lightning_floor(dm, args.epochs, optim, args.segment)),
                 ("cnnexp", ours, lambda: cnnexp_path(dm, args.epochs, optim, args.segment, args.data_dir,
                                                      args.threads)))
        for name, speeds, side in sides:
            speeds.append(side())
            ours_s, naive, tuned = speeds[-1]
            print(f"round {r + 1}: {name} {ours_s:,.0f} img/s, hand-written naive {naive:,.0f} img/s (ratio "
                  f"{ours_s / naive:.3f}), hand-written channels_last {tuned:,.0f} img/s (ratio {ours_s / tuned:.3f})",
                  flush=True)
    median = statistics.median
    for hand, label, target in ((1, "naive hand-written loop (eager, NCHW)", "target >= 1.0"),
                                (2, "equally optimised hand-written loop (channels_last)", "framework overhead")):
        print(f"median ratio to the {label} over {args.rounds} rounds (threads={torch.get_num_threads()}): "
              f"bare Lightning {median(s[0] / s[hand] for s in floor):.3f}, "
              f"cnnexp {median(s[0] / s[hand] for s in ours):.3f} ({target})")


if __name__ == "__main__":
    main()
