"""Stage what the GPU machine lacks into benchmarks/gpu/stage/ (git-ignored), within the 64 MiB a
device run may carry: the wheels of torchvision, hydra-core, omegaconf, the antlr4 runtime and cnnexp
itself, unpacked for CPython 3.12 on manylinux x86_64 (that machine has torch 2.11, lightning,
torchmetrics, tensorboard, matplotlib, pandas, rich and scipy, and no network), and the MNIST files
gzip-compressed. Run here, where the package registry is reachable:

    .venv/bin/python benchmarks/gpu/prep.py [--data-dir data]
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STAGE = REPO / "benchmarks" / "gpu" / "stage"
LIMIT = 64 * 2**20  # what a device run may carry
# The versions that go with the GPU machine's torch 2.11 (torchvision 0.26 requires torch==2.11.0).
PACKAGES = ["torchvision==0.26.0", "hydra-core==1.3.2", "omegaconf==2.3.0", "antlr4-python3-runtime==4.9.3"]
TARGET = ["--python-version", "3.12", "--platform", "manylinux_2_28_x86_64", "--implementation", "cp"]
MNIST = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], check=True)


def size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    args = parser.parse_args()
    shutil.rmtree(STAGE, ignore_errors=True)
    wheels, site, data = STAGE / "wheels", STAGE / "site", STAGE / "data" / "MNIST" / "raw"
    # antlr4's runtime 4.9.3 is published as a source archive only: built here into a pure-Python wheel.
    pip("wheel", "--no-deps", "--wheel-dir", str(wheels), "antlr4-python3-runtime==4.9.3")
    pip("wheel", "--no-deps", "--wheel-dir", str(wheels), str(REPO))  # cnnexp, configs inside
    pip("download", "--no-deps", "--only-binary=:all:", *TARGET, "--dest", str(wheels), *PACKAGES[:3])
    pip("install", "--no-deps", "--only-binary=:all:", *TARGET, "--no-compile", "--target", str(site),
        *map(str, sorted(wheels.glob("*.whl"))))
    shutil.rmtree(wheels)
    data.mkdir(parents=True)
    for name in MNIST:
        with (args.data_dir / "MNIST" / "raw" / name).open("rb") as src, gzip.open(data / f"{name}.gz", "wb") as dst:
            shutil.copyfileobj(src, dst)
    total = size(STAGE)
    print(f"staged {STAGE.relative_to(REPO)}: site {size(site) / 2**20:.1f} MiB, MNIST (gzip) "
          f"{size(data) / 2**20:.1f} MiB, total {total / 2**20:.1f} MiB of {LIMIT / 2**20:.0f}")
    if total > LIMIT:
        sys.exit(f"prep: {total / 2**20:.1f} MiB is more than a device run can carry ({LIMIT / 2**20:.0f} MiB)")


if __name__ == "__main__":
    main()
