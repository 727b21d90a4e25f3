"""The GPU check: one command for the GPU machine that is sometimes lent (one H200), at most 8 minutes.

Prints, each part on its own clock and guarded so that one failure does not cost the others:
  1. full-MNIST LeNet-5 training with the data on the device: cnnexp (`train(cfg)`, data.on_device=true)
     against a hand-written on-device loop, at batch 128 and 512, fp32 and bf16-mixed, and the
     hand-written loop also in channels_last; images/s over the same epochs and their ratio;
  2. the invariance suite's throughput against plain inference on the device (its ratio);
  3. the wall time of `cnnexp-claims` with the quick profile (stopped at --claims-timeout).

On the GPU machine, after `benchmarks/gpu/prep.py` here (see benchmarks/gpu/README.md):

    PYTHONPATH=benchmarks/gpu/stage/site python benchmarks/gpu/check.py --data-gz benchmarks/gpu/stage/data

It runs on a CPU too (`--device cpu`); tests/test_benchmarks.py runs it shrunk.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))  # train_speed's net and optimizer, invariance_speed's measure


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def compose_train(data_dir: Path, root: Path, *overrides: str):
    from omegaconf import open_dict

    from cnnexp.config import compose

    cfg = compose("train", [f"paths.data_dir={data_dir}", f"paths.root_dir={root}", "invariance=none",
                            "trainer.enable_progress_bar=false", *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(root / "run")
    return cfg


def handwritten(cfg, device: torch.device, precision: str, channels_last: bool) -> float:
    """The loop a user would write on the device: the split's tensors there once, a permutation per epoch,
    slice, step; the config's LeNet-5, AdamW and one-cycle schedule. Images/s over all epochs."""
    from hydra.utils import instantiate
    from train_speed import net_and_optim

    dm = instantiate(cfg.data)
    dm.setup("fit")
    x_all, y_all = (t.to(device) for t in dm.splits["train"])
    epochs, batch, n = cfg.trainer.max_epochs, cfg.data.batch_size, len(y_all)
    net, opt, sched = net_and_optim(dm, epochs, cfg.optim)
    net.to(device)  # in place: the optimizer keeps the same parameters
    if channels_last:
        net.to(memory_format=torch.channels_last)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16-mixed")
    sync(device)
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n, device=device)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            x = x_all[idx].float().div_(255)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with autocast:
                loss = F.cross_entropy(net(x), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    sync(device)
    return epochs * n / (time.perf_counter() - start)


def part_training(args, device: torch.device, data_dir: Path, work: Path) -> None:
    from cnnexp.training.run import train

    accelerator = "gpu" if device.type == "cuda" else "cpu"
    images = f"{args.train_size:,} images" if args.train_size else "full MNIST"
    print(f"\n## 1. LeNet-5, {images}, {args.epochs} epoch(s), data on the device: images/s over the same epochs",
          flush=True)
    print("| batch | precision | cnnexp | hand-written | ratio | hand-written, channels_last |")
    print("|---|---|---|---|---|---|")
    for batch in args.batches:
        for precision in args.precisions:
            cfg = compose_train(data_dir, work / f"b{batch}_{precision}", f"data.batch_size={batch}",
                                f"trainer.precision={precision}", f"trainer.max_epochs={args.epochs}",
                                f"trainer.accelerator={accelerator}", "data.on_device=true",
                                *([f"data.train_size={args.train_size}"] if args.train_size else []))
            hand = handwritten(cfg, device, precision, channels_last=False)
            ours = train(cfg)["throughput/train_img_s"]
            cl = handwritten(cfg, device, precision, channels_last=True)
            print(f"| {batch} | {precision} | {ours:,.0f} | {hand:,.0f} | {ours / hand:.3f} | {cl:,.0f} "
                  f"({cl / hand:.2f}x) |", flush=True)


def part_suite(args, device: torch.device, data_dir: Path) -> None:
    from invariance_speed import throughputs

    from cnnexp.classifier import Classifier, Preprocess
    from cnnexp.data.torchvision_sets import load_split
    from cnnexp.invariance.metrics import predict
    from cnnexp.models.lenet5 import LeNet5

    test = load_split("MNIST", data_dir, train=False)
    images, labels = test.images[: args.suite_images], test.labels[: args.suite_images]
    model = Classifier(Preprocess([0.1307], [0.3081], size=32), LeNet5()).to(device).eval()
    predict(model, images[:2000], 1000)  # warm-up
    plain, suite = throughputs(model, images, labels, 1000)
    print(f"\n## 2. invariance suite on the device ({len(images):,} test images, the default grid's 70 settings)\n"
          f"plain {plain:,.0f} img/s, suite {suite:,.0f} img/s, ratio {suite / plain:.3f}", flush=True)


def part_claims(args, data_dir: Path, work: Path) -> None:
    command = [sys.executable, "-m", "cnnexp.cli.claims", f"paths.data_dir={data_dir}",
               f"hydra.run.dir={work / 'claims'}", *args.claims_args]
    start = time.perf_counter()
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=args.claims_timeout)
    except subprocess.TimeoutExpired:
        done = len(list((work / "claims" / "trainings").glob("*/metrics.json")))
        print(f"\n## 3. cnnexp-claims (quick profile)\nnot finished within {args.claims_timeout} s "
              f"({done} trainings finished)", flush=True)
        return
    wall = time.perf_counter() - start
    verdicts = [line for line in proc.stdout.splitlines() if line.startswith("│ C")]
    print(f"\n## 3. cnnexp-claims (quick profile)\nexit {proc.returncode}, wall {wall:.0f} s, "
          f"{len(verdicts)} verdict rows", flush=True)
    if proc.returncode:
        print(proc.stderr[-2000:])


def unpack_mnist(gz_dir: Path, into: Path) -> Path:
    """The staged .gz files as the raw files cnnexp verifies (md5) and reads."""
    raw = into / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for gz in gz_dir.glob("MNIST/raw/*.gz"):
        with gzip.open(gz, "rb") as src, (raw / gz.stem).open("wb") as dst:
            shutil.copyfileobj(src, dst)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto (cuda if present), cuda or cpu")
    parser.add_argument("--data-dir", type=Path, default=REPO / "data", help="MNIST as cnnexp keeps it")
    parser.add_argument("--data-gz", type=Path, help="prep.py's staged data: unpacked into a temporary dir")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-size", type=int, help="a class-balanced subset instead of the 55,000 images")
    parser.add_argument("--batches", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--precisions", nargs="+", default=["32-true", "bf16-mixed"])
    parser.add_argument("--suite-images", type=int, default=10_000)
    parser.add_argument("--claims-timeout", type=int, default=270, help="seconds; 0 skips part 3")
    parser.add_argument("--claims-args", nargs="*", default=[], help="extra cnnexp-claims overrides")
    args = parser.parse_args()
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          "cpu" if args.device == "auto" else args.device)
    where = torch.cuda.get_device_name(0) if device.type == "cuda" else f"CPU, {os.cpu_count()} cores"
    print(f"# cnnexp GPU check, {time.strftime('%Y-%m-%d %H:%M')}: {where}, torch {torch.__version__}, "
          f"Python {platform.python_version()}", flush=True)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data_dir = unpack_mnist(args.data_gz, work / "data") if args.data_gz else args.data_dir
        parts = [("training", lambda: part_training(args, device, data_dir, work)),
                 ("suite", lambda: part_suite(args, device, data_dir))]
        if args.claims_timeout:
            parts.append(("claims", lambda: part_claims(args, data_dir, work)))
        failed = []
        for name, part in parts:
            try:
                part()
            except Exception:  # one part's failure must not cost the machine's time for the others
                failed.append(name)
                print(f"\n## part {name} failed:\n{traceback.format_exc()[-2500:]}", flush=True)
    print(f"\ntotal {time.perf_counter() - start:.0f} s" + (f"; failed: {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
