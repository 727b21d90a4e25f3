"""Where a small sweep job's time goes: the README's sweep job, alone, split into its phases.

The job is `cnnexp-train -m model.pooling=max augment=none data.train_size=2000 trainer.max_epochs=1` (one
point of the README's sweep), run in a fresh process as the launcher would run it. The phases are timed inside
that process by wrapping cnnexp's own functions (nothing else changes): imports, data, fit, test (with the
compile, when the job compiles), invariance suite, figures, TensorBoard (events, graph, HParams); the rest is
the interpreter's start, Hydra, the config, and Lightning's set-up and tear-down. Each round runs the job as
configured now and with the settings a sweep job ran with before (BEFORE), alternating, and prints the split
of each and the ratio of the wall times; --whole-sweep also times the README's sweep (4 jobs, joblib) both ways.

    .venv/bin/python benchmarks/sweep_job.py [--rounds 3] [--whole-sweep] [--set OVERRIDE ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
JOB = ["-m", "model.pooling=max", "augment=none", "data.train_size=2000", "trainer.max_epochs=1"]
# The README's sweep as written (--whole-sweep).
SWEEP = ["-m", "model.pooling=max,avg", "augment=none,shift", "data.train_size=2000", "trainer.max_epochs=1",
         "hydra/launcher=joblib"]
# A sweep job's suite until it measured fewer images (conf/invariance/default.yaml): the single run's, all 10,000.
BEFORE = ["invariance.num_images=null", "invariance.equivariance_images=500", "invariance.layers.images=500"]
# (phase, module, function): the functions a job calls once per phase, wrapped with a clock in the job's process.
PHASES = [("data", "cnnexp.data.datamodule", "ImageDataModule.setup"),
          ("fit", "cnnexp.training.run", "fit"),
          ("test (a compile included)", "cnnexp.training.evaluate", "predict"),
          ("suite", "cnnexp.training.evaluate", "run_suite"),
          ("figures", "cnnexp.training.evaluate", "write_outputs"),
          ("tensorboard", "cnnexp.training.evaluate", "log_model"),
          ("tensorboard", "cnnexp.training.evaluate", "log_to_tensorboard"),
          ("tensorboard", "cnnexp.training.run", "record")]
# Run in the job's process: wrap each phase's function, run cnnexp-train, write the seconds per phase.
DRIVER = """
import atexit, importlib, json, sys, time
start = time.perf_counter()
seconds = {}
def timed(phase, fn):
    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            seconds[phase] = seconds.get(phase, 0.0) + time.perf_counter() - t
    return wrapper
for phase, module, name in PHASES:
    owner = importlib.import_module(module)
    *path, attr = name.split(".")
    for part in path:
        owner = getattr(owner, part)
    setattr(owner, attr, timed(phase, getattr(owner, attr)))
seconds["imports"] = time.perf_counter() - start
atexit.register(lambda: open(OUT, "w").write(json.dumps(seconds)))
from cnnexp.cli.train import main
sys.argv = ["cnnexp-train", *ARGS]
main()
"""


def run_job(args: list[str], data_dir: Path) -> dict[str, float]:
    """One job in a fresh process: its wall seconds and the seconds of each phase."""
    with tempfile.TemporaryDirectory() as cwd:
        out = Path(cwd) / "phases.json"
        code = f"PHASES = {PHASES!r}\nOUT = {str(out)!r}\nARGS = {[*args, f'paths.data_dir={data_dir}']!r}\n{DRIVER}"
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True)
        wall = time.perf_counter() - start
        assert proc.returncode == 0, proc.stderr[-3000:]
        seconds = json.loads(out.read_text())
        (metrics,) = [json.loads(p.read_text()) for p in Path(cwd).glob("outputs/train/*/*/**/metrics.json")]
    assert "inv/shift_x_auc" in metrics, "the job measured no invariance"
    inner = sum(v for k, v in seconds.items() if k != "imports")
    return {"wall": wall, **seconds, "other (start-up, Lightning)": wall - inner}


def run_sweep(args: list[str], data_dir: Path) -> tuple[float, list[dict]]:
    """The README's whole sweep (4 jobs, two at a time under joblib): its wall seconds and each job's metrics."""
    with tempfile.TemporaryDirectory() as cwd:
        start = time.perf_counter()
        proc = subprocess.run([str(Path(sys.executable).with_name("cnnexp-train")), *SWEEP, *args,
                               f"paths.data_dir={data_dir}"], cwd=cwd, capture_output=True, text=True)
        wall = time.perf_counter() - start
        assert proc.returncode == 0, proc.stderr[-3000:]
        jobs = [json.loads(p.read_text()) for p in Path(cwd).glob("outputs/train/multiruns/*/*/metrics.json")]
    assert len(jobs) == 4 and all("inv/shift_x_auc" in j for j in jobs), "a job failed or measured no invariance"
    return wall, jobs


def fmt(split: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.1f}" for k, v in split.items() if k != "wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    parser.add_argument("--set", action="append", default=[], metavar="OVERRIDE",
                        help="an override for both sides, after theirs (the tests shrink the job with it)")
    parser.add_argument("--whole-sweep", action="store_true",
                        help="also time the README's whole sweep (4 jobs, two at a time), each side once a round")
    args = parser.parse_args()
    walls: dict[str, list[float]] = {"before": [], "now": []}
    for r in range(args.rounds):
        for side, extra in (("before", BEFORE), ("now", [])):
            split = run_job([*JOB, *extra, *args.set], args.data_dir)
            walls[side].append(split["wall"])
            print(f"round {r + 1}, {side}: {split['wall']:.1f} s ({fmt(split)})", flush=True)
        for side, extra in (("before", BEFORE), ("now", [])) if args.whole_sweep else ():
            wall, jobs = run_sweep([*extra, *args.set], args.data_dir)
            walls.setdefault(f"sweep {side}", []).append(wall)
            suite = statistics.mean(j["inv/suite_s"] for j in jobs)
            print(f"round {r + 1}, README sweep {side}: {wall:.1f} s for 4 jobs (per job: fit "
                  f"{statistics.mean(j['time/fit_s'] for j in jobs):.1f} s, suite {suite:.1f} s)", flush=True)
    if args.whole_sweep:
        ratios = [b / n for b, n in zip(walls["sweep before"], walls["sweep now"])]
        print(f"README sweep: median ratio before/now {statistics.median(ratios):.2f}x")
    ratios = [b / n for b, n in zip(walls["before"], walls["now"])]
    before, now = statistics.median(walls["before"]), statistics.median(walls["now"])
    print(f"median wall: before {before:.1f} s, now {now:.1f} s; ratio before/now {statistics.median(ratios):.2f}x "
          "(target >= 3)")


if __name__ == "__main__":
    main()
