"""Sweep speed-up: 4 jobs under `hydra/launcher=joblib` against the same 4 one after the other.

Both sides run the real command, `cnnexp-train -m model.pooling=max,avg seed=0,1 ...` (full MNIST,
`--epochs` epochs, the quick invariance suite the sweep presets use), alternating `--rounds` times;
prints each side's wall time from launch to exit and the median speed-up (basic / joblib).

    .venv/bin/python benchmarks/sweep_speed.py [--rounds 3] [--epochs 2]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRAIN = str(Path(sys.executable).with_name("cnnexp-train"))
LAUNCHERS = {"one after the other": [], "joblib": ["hydra/launcher=joblib"]}


def sweep_seconds(launcher: list[str], epochs: int, data_dir: Path) -> tuple[float, list[dict], set[str]]:
    """Wall seconds of one 4-job sweep, each job's metrics.json, and the torch thread counts its jobs logged."""
    with tempfile.TemporaryDirectory() as cwd:
        start = time.perf_counter()
        proc = subprocess.run([TRAIN, "-m", "model.pooling=max,avg", "seed=0,1", f"trainer.max_epochs={epochs}",
                               "invariance=quick", f"paths.data_dir={data_dir}", *launcher],
                              cwd=cwd, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        assert proc.returncode == 0, proc.stderr[-2000:]
        jobs = [json.loads(p.read_text()) for p in Path(cwd).glob("outputs/train/multiruns/*/*/metrics.json")]
        assert len(jobs) == 4, f"{len(jobs)} jobs finished"
        logs = "".join(p.read_text() for p in Path(cwd).glob("outputs/train/multiruns/*/*/train.log"))
        threads = set(re.findall(r"torch threads: (\d+)", logs))
        return seconds, jobs, threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    args = parser.parse_args()
    seconds: dict[str, list[float]] = {name: [] for name in LAUNCHERS}
    for r in range(args.rounds):
        for name, launcher in LAUNCHERS.items():
            wall, jobs, threads = sweep_seconds(launcher, args.epochs, args.data_dir)
            seconds[name].append(wall)
            fit = statistics.mean(j["time/fit_s"] for j in jobs)
            suite = statistics.mean(j["inv/suite_s"] for j in jobs)
            print(f"round {r + 1}, {name}: {wall:.1f} s (per job: fit {fit:.1f} s, invariance {suite:.1f} s, "
                  f"torch threads {','.join(sorted(threads))})", flush=True)
        print(f"round {r + 1}: speed-up {seconds['one after the other'][-1] / seconds['joblib'][-1]:.2f}x",
              flush=True)
    ratios = [b / j for b, j in zip(seconds["one after the other"], seconds["joblib"])]
    print(f"median: one after the other {statistics.median(seconds['one after the other']):.1f} s, "
          f"joblib {statistics.median(seconds['joblib']):.1f} s, speed-up {statistics.median(ratios):.2f}x "
          f"(target >= 1.3x)")


if __name__ == "__main__":
    main()
