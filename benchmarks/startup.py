"""Start-up latency of cnnexp-train, measured from the moment the command is launched:

- to the refusal of a bad config (target < 3 s),
- to the first training step of the default job (target < 8 s; MNIST already on disk).

Runs each `--rounds` times, alternating, and prints the median.

    .venv/bin/python benchmarks/startup.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRAIN = str(Path(sys.executable).with_name("cnnexp-train"))


def refusal_seconds(cwd: str) -> float:
    start = time.time()
    proc = subprocess.run([TRAIN, "model.kernel_size=0"], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    return time.time() - start


def first_step_seconds(cwd: str, data_dir: Path) -> float:
    env = dict(os.environ, CNNEXP_BENCH_T0=repr(time.time()), PYTHONPATH=str(REPO / "benchmarks"))
    proc = subprocess.run([TRAIN, f"paths.data_dir={data_dir}", "invariance=none",
                           "+callbacks.probe._target_=first_step_probe.FirstStepProbe"],
                          cwd=cwd, env=env, capture_output=True, text=True)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("first-step-s=")), None)
    assert line, proc.stderr[-2000:]
    return float(line.split("=")[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    args = parser.parse_args()
    refusals, first_steps = [], []
    with tempfile.TemporaryDirectory() as cwd:
        for r in range(args.rounds):
            refusals.append(refusal_seconds(cwd))
            first_steps.append(first_step_seconds(cwd, args.data_dir))
            print(f"round {r + 1}: bad config refused in {refusals[-1]:.2f} s, "
                  f"first training step after {first_steps[-1]:.2f} s", flush=True)
    print(f"median: refusal {statistics.median(refusals):.2f} s (target < 3 s), "
          f"first step {statistics.median(first_steps):.2f} s (target < 8 s)")


if __name__ == "__main__":
    main()
