"""A long config-fuzzing campaign: `make fuzz` (or `python -m tests.fuzz_campaign --examples N`).

Draws N cases with tests/config_fuzz.py's strategy, runs each through cnnexp-train's checks and, when
accepted, a tiny run; prints how many were accepted, refused and failed (by kind). --out holds the counts
and every failure with its overrides, rewritten every 50 cases (a stopped campaign keeps what it found).
Exit status 1 when any case failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import warnings
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings

from tests.config_fuzz import Case, cases, outcome

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    parser.add_argument("--out", type=Path, help="default: outputs/fuzz/campaign-<seed>.json")
    args = parser.parse_args()
    args.out = args.out or REPO / "outputs" / "fuzz" / f"campaign-{args.seed}.json"
    logging.disable(logging.WARNING)  # Lightning's and cnnexp's run logs, thousands of times over
    warnings.filterwarnings("ignore")

    counts: Counter[str] = Counter()
    found: dict[str, dict[str, list[str]]] = {"failed": {}, "refused_late": {}, "diverged": {}}  # message -> overrides
    failures = found["failed"]
    slowest: list[tuple[float, tuple[str, ...]]] = []
    start = time.perf_counter()
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        state = {"seed": args.seed, "seconds": round(time.perf_counter() - start), "counts": dict(counts),
                 "failures": failures, "refused_late": found["refused_late"], "diverged": found["diverged"]}
        args.out.write_text(json.dumps(state, indent=1) + "\n")

    # Hypothesis as a generator only: every case runs, none stops the campaign or is shrunk.
    @settings(max_examples=args.examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(cases())
    def campaign(case: Case) -> None:
        began = time.perf_counter()
        result = outcome(case, args.data_dir)
        slowest.append((time.perf_counter() - began, case.overrides))
        slowest.sort(reverse=True)
        del slowest[3:]
        counts[result.kind] += 1
        if result.kind != "accepted" and result.kind != "refused":
            found[result.kind].setdefault(result.message, list(case.overrides))
        done = sum(counts.values())
        if done % 50 == 0:
            print(f"{done} cases, {time.perf_counter() - start:.0f} s: {dict(counts)}", flush=True)
            save()

    campaign._hypothesis_internal_use_seed = args.seed
    campaign()
    total = sum(counts.values())
    print(f"{total} configs in {time.perf_counter() - start:.0f} s: {counts['accepted']} accepted, "
          f"{counts['refused']} refused, {counts['diverged']} diverged, {counts['refused_late']} refused late, "
          f"{counts['failed']} failed "
          f"({len(failures)} distinct)")
    for seconds, overrides in slowest:
        print(f"  slowest: {seconds:.1f} s {' '.join(overrides)}")
    for message, overrides in failures.items():
        print(f"  FAILED {' '.join(overrides)}\n         {message}")
    save()
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
