"""Evaluation speed: a trained LeNet-5 stored channels_last against the same weights in plain eager NCHW.

Both sides classify the official MNIST test images with `predict` (the path of validation, test and the
invariance suite) at the same batch size and threads, interleaved: each round times one pass of each
side, alternating, `--passes` times. Prints img/s per round and the median ratio (target >= 1.4x), then
whether the predictions are the same: top-1 agreement on every test image and the largest logit
difference.

    .venv/bin/python benchmarks/eval_speed.py [--rounds 3] [--ckpt PATH] [--num-images 10000]

Without --ckpt it first trains LeNet-5 for one epoch on a 10,000-image subset (about 15 s).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path

import torch
from omegaconf import open_dict

from cnnexp.classifier import use_memory_format
from cnnexp.config import compose
from cnnexp.data.torchvision_sets import load_split
from cnnexp.invariance.metrics import predict
from cnnexp.runtime import keep_freed_memory
from cnnexp.training.checkpoint import load_classifier
from cnnexp.training.run import train

REPO = Path(__file__).resolve().parents[1]


def quick_checkpoint(data_dir: Path, out: Path, train_size: int) -> Path:
    cfg = compose("train", [f"paths.data_dir={data_dir}", f"paths.root_dir={out}", "invariance=none",
                            f"data.train_size={train_size}", "trainer.max_epochs=1",
                            "trainer.enable_progress_bar=false"])
    with open_dict(cfg):
        cfg.paths.output_dir = str(out / "run")
    train(cfg)
    return out / "run" / "checkpoints" / "last.ckpt"


def timed(model, images, batch_size) -> float:
    start = time.perf_counter()
    predict(model, images, batch_size, softmax=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--passes", type=int, default=3, help="passes of each side per round")
    parser.add_argument("--ckpt", type=Path)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--num-images", type=int, default=10_000)
    parser.add_argument("--train-size", type=int, default=10_000)
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    args = parser.parse_args()
    keep_freed_memory()  # as cnnexp's commands do
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = args.ckpt or quick_checkpoint(args.data_dir, Path(tmp), args.train_size)
        eager = load_classifier(ckpt)
    eager = use_memory_format(eager, "contiguous")
    fast = use_memory_format(copy.deepcopy(eager), "channels_last")
    test = load_split("MNIST", args.data_dir, train=False)
    images = test.images[: args.num_images]
    for model in (eager, fast):
        predict(model, images[:2000], args.batch_size)  # warm-up
    ratios = []
    for r in range(args.rounds):
        plain = fast_s = 0.0
        for _ in range(args.passes):
            plain += timed(eager, images, args.batch_size)
            fast_s += timed(fast, images, args.batch_size)
        n = args.passes * len(images)
        ratios.append(plain / fast_s)
        print(f"round {r + 1}: eager NCHW {n / plain:,.0f} img/s, channels_last {n / fast_s:,.0f} img/s, "
              f"ratio {ratios[-1]:.3f}", flush=True)
    a = predict(eager, test.images, args.batch_size, softmax=False)
    b = predict(fast, test.images, args.batch_size, softmax=False)
    agree = (a.argmax(-1) == b.argmax(-1)).float().mean().item()
    print(f"median ratio {statistics.median(ratios):.3f} (target >= 1.4x, threads={torch.get_num_threads()}); "
          f"top-1 agreement {100 * agree:.2f}% of {len(a):,} test images, largest logit difference "
          f"{(a - b).abs().max().item():.2e}")


if __name__ == "__main__":
    main()
