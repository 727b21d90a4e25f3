"""The end of a cnnexp-tune command: best.json (the best trial by validation, its test accuracy beside it),
cnnexp-report's summary of the trials' run dirs, and how to open the dashboard."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import optuna

from cnnexp.files import write_json
from cnnexp.sweeps.points import find_jobs
from cnnexp.sweeps.summary import report
from cnnexp.tune.settings import TuneSettings
from cnnexp.tune.storage import dashboard_command

# Reported beside the objective, never optimized (each trial keeps it as a user attribute).
REPORTED = "test/acc"


def summary(study: optuna.Study, settings: TuneSettings, overrides: Sequence[str] = ()) -> dict:
    """Trials by state, the best trial (None before one completes), the command's overrides and every trial:
    enough to check the best against the others and to run the search again."""
    trials = study.get_trials(deepcopy=False)
    best = study.best_trial if any(t.state == optuna.trial.TrialState.COMPLETE for t in trials) else None
    return {
        "study": settings.study_name, "storage": settings.storage, "metric": settings.metric,
        "direction": settings.direction, "trials": dict(sorted(Counter(t.state.name.lower() for t in trials).items())),
        "best": best and {"number": best.number, settings.metric: best.value, REPORTED: best.user_attrs.get(REPORTED),
                          "params": best.params, "run_dir": best.user_attrs.get("run_dir")},
        "overrides": list(overrides),
        "all_trials": [{"number": t.number, "state": t.state.name.lower(), "params": t.params, settings.metric: t.value,
                        "finished": t.datetime_complete and t.datetime_complete.isoformat(timespec="seconds")}
                       for t in trials],
    }


def finish(study: optuna.Study, settings: TuneSettings, overrides: Sequence[str] = ()) -> dict:
    """Write best.json and the report into the study dir; print where they are and the best trial."""
    result = summary(study, settings, overrides)
    study_dir = Path(settings.dir)
    study_dir.mkdir(parents=True, exist_ok=True)
    write_json(study_dir / "best.json", result)
    runs = find_jobs(study_dir)
    if runs:
        report(study_dir)
    counts = ", ".join(f"{n} {state}" for state, n in result["trials"].items()) or "no trials"
    best = result["best"]
    lines = [f"cnnexp-tune: study {settings.study_name!r}: {counts}"]
    if best:
        tested = best[REPORTED]  # None if the best trial's run has no test metric
        lines.append(f"  best: trial {best['number']}, {settings.metric} {best[settings.metric]:.4f} "
                     f"({REPORTED} {'n/a' if tested is None else f'{tested:.4f}'}, reported, not selected on): "
                     f"{best['params']}")
    lines += [f"  {study_dir / 'best.json'}" + (f", {study_dir / 'summary.md'}" if runs else ""),
              f"  dashboard: {dashboard_command(settings.storage)}  (then open http://127.0.0.1:8080)"]
    print("\n".join(lines), flush=True)
    return result
