"""Start-up latency of cnnexp-train, measured from the moment the command is launched:

- to the refusal of a bad config (target < 3 s),
- to the first training step of the default job (target < 8 s; MNIST already on disk).

Runs each `--rounds` times, alternating, and prints the median. Beside each wall time it prints the
command's CPU time (user + system, its child processes included): on a machine other work shares, that
is close to what the wall time would be on an idle one, so it compares two sides under load.

`--checkout DIR` (repeatable) also times the cnnexp of another checkout (its src/ and conf/, e.g.
`git worktree add /tmp/before HEAD~1`) in the same rounds, alternating with the installed one, so a
change is measured against what it replaced under the same load.

    .venv/bin/python benchmarks/startup.py [--rounds 3] [--checkout DIR ...]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRAIN = str(Path(sys.executable).with_name("cnnexp-train"))


def _env(*paths: str, **extra: str) -> dict[str, str]:
    """The command's environment: `paths` (those not empty) as its whole PYTHONPATH."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p), **extra)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def refusal_seconds(cwd: str, path: str = "") -> tuple[float, float]:
    """(wall, CPU) seconds from launch to the refusal."""
    env = _env(path)
    start, cpu = time.time(), _children_cpu()
    proc = subprocess.run([TRAIN, "model.kernel_size=0"], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    return time.time() - start, _children_cpu() - cpu


def first_step_seconds(cwd: str, data_dir: Path, path: str = "") -> tuple[float, float]:
    """(wall, CPU) seconds from launch to the first training step (CPU: to the exit the probe makes there)."""
    env = _env(path, str(REPO / "benchmarks"), CNNEXP_BENCH_T0=repr(time.time()))
    cpu = _children_cpu()
    proc = subprocess.run([TRAIN, f"paths.data_dir={data_dir}", "invariance=none",
                           "+callbacks.probe._target_=first_step_probe.FirstStepProbe"],
                          cwd=cwd, env=env, capture_output=True, text=True)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("first-step-s=")), None)
    assert line, proc.stderr[-2000:]
    return float(line.split("=")[1]), _children_cpu() - cpu


def overlay(checkout: Path, into: Path) -> str:
    """A PYTHONPATH entry under which `import cnnexp` is the checkout's package with the checkout's configs.

    The installed package finds its configs through the install (an editable one maps cnnexp.conf to its
    own tree), so the checkout's files are linked into one package folder, conf/ included.
    """
    package = into / "cnnexp"
    package.mkdir(parents=True)
    for entry in (checkout / "src" / "cnnexp").iterdir():
        if entry.name not in ("conf", "__pycache__"):
            (package / entry.name).symlink_to(entry.resolve())
    (package / "conf").symlink_to((checkout / "conf").resolve())
    return str(into)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    parser.add_argument("--checkout", type=Path, action="append", default=[],
                        help="also time this checkout's cnnexp, alternating (repeatable)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cwd:
        sides = {"installed": ""}
        for i, checkout in enumerate(args.checkout):
            sides[f"checkout {checkout}"] = overlay(checkout, Path(cwd) / f"checkout{i}")
        refusals: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
        first_steps: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
        for r in range(args.rounds):
            # Odd rounds take the sides in reverse, so neither always runs first (this machine's speed drifts).
            order = list(sides) if r % 2 == 0 else list(reversed(sides))
            for side in order:
                refusals[side].append(refusal_seconds(cwd, sides[side]))
            for side in order:
                first_steps[side].append(first_step_seconds(cwd, args.data_dir, sides[side]))
            for side in order:
                (refusal, refusal_cpu), (first, first_cpu) = refusals[side][-1], first_steps[side][-1]
                label = f" ({side})" if len(sides) > 1 else ""
                print(f"round {r + 1}{label}: bad config refused in {refusal:.2f} s (CPU {refusal_cpu:.2f} s), "
                      f"first training step after {first:.2f} s (CPU {first_cpu:.2f} s)", flush=True)
    for side in sides:
        refusal, refusal_cpu = (statistics.median(run[i] for run in refusals[side]) for i in (0, 1))
        first, first_cpu = (statistics.median(run[i] for run in first_steps[side]) for i in (0, 1))
        print(f"{f'{side}: ' if len(sides) > 1 else ''}median: refusal {refusal:.2f} s (target < 3 s), first step "
              f"{first:.2f} s (target < 8 s); CPU time: refusal {refusal_cpu:.2f} s, first step {first_cpu:.2f} s")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("PYTHONDONTWRITEBYTECODE is set: modules without cached bytecode (an editable cnnexp's) are "
              "compiled in every run")


if __name__ == "__main__":
    main()
