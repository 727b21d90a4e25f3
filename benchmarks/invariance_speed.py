"""Invariance-suite throughput against plain batched inference, measured in one process.

Both sides classify the 10,000 official MNIST test images with the same LeNet-5 and batch size;
the suite side transforms every batch first (shift, rotation, scaling: the suite's own ops).
Alternates the sides `--rounds` times and prints images/s of each and the median ratio.

    .venv/bin/python benchmarks/invariance_speed.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from cnnexp.classifier import Classifier, Preprocess
from cnnexp.data.torchvision_sets import load_split
from cnnexp.invariance.metrics import predict
from cnnexp.invariance.transforms import rotate, scale, shift
from cnnexp.models.lenet5 import LeNet5

REPO = Path(__file__).resolve().parents[1]
TRANSFORMS = [lambda x: shift(x, 3, -2), lambda x: rotate(x, 30.0), lambda x: scale(x, 1.2)]


def images_per_second(model, images, batch_size, transform=None) -> float:
    start = time.perf_counter()
    predict(model, images, batch_size, transform)
    return len(images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    args = parser.parse_args()
    images = load_split("MNIST", args.data_dir, train=False, download=False).images
    model = Classifier(Preprocess([0.1307], [0.3081], pad=2), LeNet5()).eval()
    predict(model, images[:2000], args.batch_size)  # warm-up
    ratios = []
    for r in range(args.rounds):
        plain = images_per_second(model, images, args.batch_size)
        suite = statistics.mean(images_per_second(model, images, args.batch_size, t) for t in TRANSFORMS)
        ratios.append(suite / plain)
        print(f"round {r + 1}: plain {plain:,.0f} img/s, transformed {suite:,.0f} img/s, ratio {ratios[-1]:.3f}",
              flush=True)
    print(f"median ratio {statistics.median(ratios):.3f} (threads={torch.get_num_threads()})")


if __name__ == "__main__":
    main()
