"""The layer profile's cost in plain forward passes of the same network over the same images (target <= 20).

One process, one LeNet-5 (trained weights do not change the cost), the profile's default grid (13 transforms)
on the first `--num-images` official MNIST test images. The machine's speed drifts within a minute, so the
sides are interleaved: each round times one profile, then 20 plain eager forward passes over the same images
at the same batch size, each on its own clock. Prints each round's ratio and the median.

    .venv/bin/python benchmarks/layer_profile_speed.py [--rounds 3] [--num-images 500]
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
from cnnexp.invariance.metrics import predict
from cnnexp.invariance.profile import layer_profile
from cnnexp.models.lenet5 import LeNet5
from cnnexp.runtime import keep_freed_memory

REPO = Path(__file__).resolve().parents[1]
GRID = OmegaConf.to_container(OmegaConf.load(REPO / "conf" / "invariance" / "default.yaml").layers)
PLAIN_PASSES = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--num-images", type=int, default=GRID["images"])
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    args = parser.parse_args()
    keep_freed_memory()  # as cnnexp's commands do
    images = load_split("MNIST", args.data_dir, train=False).images[: args.num_images]
    model = Classifier(Preprocess([0.1307], [0.3081], size=32), LeNet5()).eval()
    grid = {**GRID, "images": args.num_images}
    layer_profile(model, images, grid, args.batch_size)  # warm-up
    ratios = []
    for r in range(args.rounds):
        start = time.perf_counter()
        layer_profile(model, images, grid, args.batch_size)
        middle = time.perf_counter()
        for _ in range(PLAIN_PASSES):
            predict(model, images, args.batch_size)
        profile_s, plain_s = middle - start, (time.perf_counter() - middle) / PLAIN_PASSES
        ratios.append(profile_s / plain_s)
        print(f"round {r + 1}: profile {profile_s:.3f} s, one plain pass {plain_s:.4f} s, "
              f"profile = {ratios[-1]:.1f} plain passes", flush=True)
    print(f"median: the profile costs {statistics.median(ratios):.1f} plain forward passes (target <= "
          f"{PLAIN_PASSES}; threads={torch.get_num_threads()})")


if __name__ == "__main__":
    main()
