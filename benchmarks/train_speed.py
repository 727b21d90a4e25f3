"""Training throughput: cnnexp's Lightning path against a hand-written loop, same model and data.

Both sides train LeNet-5 on full MNIST (batch 128, the config's AdamW + one-cycle, `--threads`
threads) for one epoch, alternating, `--rounds` times each; prints images/s of each side and the
median ratio. The hand-written side is the loop a user would write over the same in-memory
tensors: same model, batch, optimizer settings, schedule and thread count.

    .venv/bin/python benchmarks/train_speed.py [--rounds 3] [--epochs 1] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from cnnexp.data.datamodule import ImageDataModule
from cnnexp.models.lenet5 import LeNet5
from cnnexp.classifier import Preprocess
from cnnexp.cli import CONF_DIR
from cnnexp.train import train

REPO = Path(__file__).resolve().parents[1]


def hand_written(dm: ImageDataModule, epochs: int, optim: DictConfig) -> float:
    """The loop a user would write: in-memory tensors, random permutation, slice, step."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(Preprocess(dm.mean, dm.std, pad=2), LeNet5())
    x_all, y_all = dm.splits["train"]
    steps = epochs * -(-len(y_all) // dm.batch_size)
    opt = torch.optim.AdamW(net.parameters(), lr=optim.optimizer.lr, weight_decay=optim.optimizer.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=optim.scheduler.max_lr, total_steps=steps,
                                                pct_start=optim.scheduler.pct_start)
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
    hand, ours = [], []
    for r in range(args.rounds):
        hand.append(hand_written(dm, args.epochs, optim))
        ours.append(cnnexp_path(args.epochs, args.data_dir, args.threads))
        print(f"round {r + 1}: hand-written {hand[-1]:,.0f} img/s, cnnexp {ours[-1]:,.0f} img/s, "
              f"ratio {ours[-1] / hand[-1]:.3f}", flush=True)
    ratios = [o / h for o, h in zip(ours, hand)]
    print(f"median: hand-written {statistics.median(hand):,.0f} img/s, cnnexp {statistics.median(ours):,.0f} img/s, "
          f"ratio {statistics.median(ratios):.3f} (threads={torch.get_num_threads()})")


if __name__ == "__main__":
    main()
