"""Training throughput: cnnexp's Lightning path against a hand-written loop, same model and data.

Both sides train LeNet-5 on full MNIST (batch 128, AdamW + one-cycle, the machine's threads) for one
epoch, alternating, `--rounds` times each; prints images/s of each side and the median ratio.

    .venv/bin/python benchmarks/train_speed.py [--rounds 3] [--epochs 1]
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

from cnnexp.data.datamodule import ImageDataModule
from cnnexp.models.lenet5 import LeNet5
from cnnexp.classifier import Preprocess
from cnnexp.cli import CONF_DIR
from cnnexp.train import train

REPO = Path(__file__).resolve().parents[1]


def hand_written(dm: ImageDataModule, epochs: int) -> float:
    """The loop a user would write: in-memory tensors, random permutation, slice, step."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(Preprocess(dm.mean, dm.std, pad=2), LeNet5())
    x_all, y_all = dm.splits["train"]
    steps = epochs * -(-len(y_all) // dm.batch_size)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.25)
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


def cnnexp_path(epochs: int, data_dir: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp, initialize_config_dir(version_base="1.3", config_dir=CONF_DIR):
        cfg = compose("train", overrides=[f"paths.data_dir={data_dir}", f"paths.root_dir={tmp}", "data.batch_size=128",
                                          f"trainer.max_epochs={epochs}",
                                          "trainer.enable_progress_bar=false", "trainer.accelerator=cpu", "invariance=none"])
        cfg.paths.output_dir = f"{tmp}/run"
        return train(cfg)["throughput/train_img_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    args = parser.parse_args()
    dm = ImageDataModule("mnist", str(args.data_dir), batch_size=128, mean=(0.1307,), std=(0.3081,))
    dm.setup()
    hand, ours = [], []
    for r in range(args.rounds):
        hand.append(hand_written(dm, args.epochs))
        ours.append(cnnexp_path(args.epochs, args.data_dir))
        print(f"round {r + 1}: hand-written {hand[-1]:,.0f} img/s, cnnexp {ours[-1]:,.0f} img/s, "
              f"ratio {ours[-1] / hand[-1]:.3f}", flush=True)
    ratios = [o / h for o, h in zip(ours, hand)]
    print(f"median: hand-written {statistics.median(hand):,.0f} img/s, cnnexp {statistics.median(ours):,.0f} img/s, "
          f"ratio {statistics.median(ratios):.3f} (threads={torch.get_num_threads()})")


if __name__ == "__main__":
    main()
