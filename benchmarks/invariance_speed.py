"""Invariance-suite throughput against plain batched inference, measured in one process.

Both sides classify the official MNIST test images with the same LeNet-5 and batch size. The
suite side runs the default grid's accuracy curves (shift_x, shift_y, rotate, scale: 70 settings,
each transforming every batch first); its throughput is transformed images classified per second.
The machine's speed drifts within a minute, so the sides are interleaved: after each setting's
pass over the images comes one plain pass over the same images, each on its own clock. Prints
images/s of each side per round and the median ratio over `--rounds` rounds.

    .venv/bin/python benchmarks/invariance_speed.py [--rounds 3] [--num-images 10000] [--batch-size 1000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf

from cnnexp.classifier import Classifier, Preprocess
from cnnexp.data.torchvision_sets import load_split
from cnnexp.invariance.measures import grid
from cnnexp.invariance.metrics import accuracy_curve, predict
from cnnexp.invariance.transforms import rotate, scale, shift
from cnnexp.models.lenet5 import LeNet5
from cnnexp.runtime import keep_freed_memory

REPO = Path(__file__).resolve().parents[1]
DEFAULT_GRID = OmegaConf.load(REPO / "conf" / "invariance" / "default.yaml")
# The curves' transforms on the image canvas (the default), as the suite applies them.
TRANSFORMS = {"shift_x": lambda x, v: shift(x, int(v), 0), "shift_y": lambda x, v: shift(x, 0, int(v)),
              "rotate": rotate, "scale": scale}


def throughputs(model, images, labels, batch_size) -> tuple[float, float]:
    """Images/s of plain inference and of the suite's transformed inference, interleaved setting by setting."""
    plain_s = suite_s = 0.0
    settings = 0
    for family, transform in TRANSFORMS.items():
        for value in grid(DEFAULT_GRID[family]):
            start = time.perf_counter()
            accuracy_curve(model, images, labels, transform, [value], batch_size)
            middle = time.perf_counter()
            predict(model, images, batch_size)
            plain_s += time.perf_counter() - middle
            suite_s += middle - start
            settings += 1
    return settings * len(images) / plain_s, settings * len(images) / suite_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--num-images", type=int, default=10_000)
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    args = parser.parse_args()
    keep_freed_memory()  # as cnnexp's commands do
    test = load_split("MNIST", args.data_dir, train=False)
    images, labels = test.images[: args.num_images], test.labels[: args.num_images]
    model = Classifier(Preprocess([0.1307], [0.3081], size=32), LeNet5()).eval()
    predict(model, images[:2000], args.batch_size)  # warm-up
    ratios = []
    for r in range(args.rounds):
        plain, suite = throughputs(model, images, labels, args.batch_size)
        ratios.append(suite / plain)
        print(f"round {r + 1}: plain {plain:,.0f} img/s, transformed {suite:,.0f} img/s, ratio {ratios[-1]:.3f}",
              flush=True)
    print(f"median ratio {statistics.median(ratios):.3f} (threads={torch.get_num_threads()})")


if __name__ == "__main__":
    main()
