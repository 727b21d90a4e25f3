"""Evaluation speed: a trained LeNet-5 as cnnexp evaluates it (compiled for inference, cnnexp/compiled.py)
against the same weights in plain eager NCHW, with eager channels_last beside them.

Every side classifies the official MNIST test images with `predict` (the path of the test and the
invariance suite) at the same batch size and threads, interleaved: each round times one pass of each
side in turn, `--passes` times. Prints img/s per round and side, the median ratio of each side to eager
NCHW (target >= 1.4x for cnnexp's path), the compile's seconds (the first in the process, and a second
model's), then whether the predictions are the same: top-1 agreement on every test image and the largest
logit difference.

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
from cnnexp.compiled import for_inference, worth_compiling
from cnnexp.config import compose
from cnnexp.data.torchvision_sets import load_split
from cnnexp.invariance.measures import suite_passes
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
        trained = load_classifier(ckpt)  # its weights in the memory format it was trained in, as cnnexp loads it
    eager = use_memory_format(copy.deepcopy(trained), "contiguous")
    test = load_split("MNIST", args.data_dir, train=False)
    images = test.images[: args.num_images]
    suite = compose("train", []).invariance
    passes = len(images) + suite_passes(images.shape, suite, trained.preprocess.size)  # cnnexp's test + suite
    print(f"cnnexp-train's test and default suite on {len(images):,} images: {passes:,} image-passes, "
          f"eval_compile=auto compiles: {worth_compiling(passes)}")
    sides = {"eager NCHW": eager, "channels_last": use_memory_format(copy.deepcopy(eager), "channels_last")}
    for name, model in (("cnnexp (compiled)", trained), ("compiled, 2nd model", copy.deepcopy(trained))):
        start = time.perf_counter()
        sides[name] = for_inference(model, passes, mode=True)
        predict(sides[name], images[: args.batch_size], args.batch_size)  # dynamo compiles at the first call
        print(f"{name}: compiled in {time.perf_counter() - start:.2f} s", flush=True)
    del sides["compiled, 2nd model"]  # the same graph: timed only for its compile
    for model in sides.values():
        predict(model, images[:2000], args.batch_size)  # warm-up
    seconds: dict[str, list[float]] = {name: [] for name in sides}
    for r in range(args.rounds):
        spent = dict.fromkeys(sides, 0.0)
        for _ in range(args.passes):
            for name, model in sides.items():
                spent[name] += timed(model, images, args.batch_size)
        n = args.passes * len(images)
        for name in sides:
            seconds[name].append(spent[name])
        print(f"round {r + 1}: " + ", ".join(f"{name} {n / spent[name]:,.0f} img/s" for name in sides), flush=True)
    base = seconds.pop("eager NCHW")
    ratios = {name: statistics.median(b / s for b, s in zip(base, spent)) for name, spent in seconds.items()}
    print("median ratio to eager NCHW: " + ", ".join(f"{name} {r:.3f}" for name, r in ratios.items())
          + f" (target >= 1.4x for cnnexp's path, threads={torch.get_num_threads()})")
    a = predict(eager, test.images, args.batch_size, softmax=False)
    for name in list(sides)[1:]:
        b = predict(sides[name], test.images, args.batch_size, softmax=False)
        agree = (a.argmax(-1) == b.argmax(-1)).float().mean().item()
        print(f"{name}: top-1 agreement with eager {100 * agree:.2f}% of {len(a):,} test images, largest logit "
              f"difference {(a - b).abs().max().item():.2e}")


if __name__ == "__main__":
    main()
