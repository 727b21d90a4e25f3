"""Starting a command's workers: K processes on this machine, or K jobs through submitit (SLURM, or its
local executor), each running `cnnexp.tune.worker` on its share of the trials; then waiting for them, and
starting more for the trials of workers that died."""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser

from cnnexp.runtime import cores_per_job
from cnnexp.tune.recovery import command_tag, fail_dead, lost, owed
from cnnexp.tune.settings import TuneSettings
from cnnexp.tune.space import override

# Set per worker by cnnexp-tune (a user's own `threads` is kept).
PER_WORKER = ("tune.n_trials", "tune.workers", "tune.sampler.seed", "tune.command")
BAR = "trainer.enable_progress_bar"


def worker_args(settings: TuneSettings, overrides: Sequence[str], trials_before: int,
                threads: int | None) -> list[list[str]]:
    """Each worker's command line: the command's overrides with its share of the trials (exact, whoever else
    works on the study), its torch threads and, for a seeded sampler, seed + trials_before + i (distinct
    points from every worker and every command)."""
    parsed = OverridesParser.create().parse_overrides(list(overrides))
    kept = [o.input_line for o in parsed if o.key_or_group not in PER_WORKER]
    given = {o.key_or_group for o in parsed}
    workers, seed = settings.workers, settings.sampler.get("seed")
    # Progress bars of parallel workers on one terminal would overwrite each other.
    quiet = [] if workers == 1 or BAR in given else [f"{BAR}=false"]
    args = []
    for i in range(workers):
        share = settings.n_trials // workers + (i < settings.n_trials % workers)
        if share:
            extra = [f"tune.n_trials={share}", "tune.workers=1", *quiet]
            extra += [] if settings.command is None else [override("tune.command", settings.command)]
            extra += [] if "threads" in given or threads is None else [f"threads={threads}"]
            extra += [] if seed is None else [f"tune.sampler.seed={seed + trials_before + i}"]
            args.append([*kept, *extra])
    return args


def run_command(study: optuna.Study, settings: TuneSettings, overrides: Sequence[str],
                threads: int | None) -> list[str]:
    """Run the command's `tune.n_trials` in rounds of workers: after a round in which workers died in mid-trial,
    their trials are failed and queued again once, and a new round runs what the command still owes (its own
    trials counted, whoever else works on the study). The last round's failures, one line each."""
    command = command_tag()
    died: set[int] = set()
    left = settings.n_trials
    while True:
        round_settings = dataclasses.replace(settings, n_trials=left, command=command)
        args = worker_args(round_settings, overrides, len(study.trials), threads)
        failures = run_workers(round_settings, args) if args else []
        new = (set(fail_dead(study, command)) | lost(study, command)) - died
        left = owed(study, command, settings.n_trials)
        if not new or not left:
            return failures
        died |= new
        print(f"cnnexp-tune: {'; '.join(failures) or 'a worker died'}: trial(s) {', '.join(map(str, sorted(new)))} "
              f"failed with it and queued again once; {left} trial(s) still to run", file=sys.stderr, flush=True)


def run_workers(settings: TuneSettings, args: list[list[str]]) -> list[str]:
    """Start the workers and wait for them; the failures, one line each (empty if all finished)."""
    if settings.launcher == "local":
        procs = [subprocess.Popen([sys.executable, "-m", "cnnexp.tune.worker", *a]) for a in args]
        try:
            codes = [p.wait() for p in procs]
        except KeyboardInterrupt:
            for p in procs:  # a terminal's Ctrl+C reaches the workers too, `kill -INT` only this process
                p.send_signal(signal.SIGINT)
            for p in procs:
                p.wait()
            raise
        return [f"worker {i} ended with exit status {code}" for i, code in enumerate(codes) if code]
    import submitit

    from cnnexp.tune.worker import main

    executor = submitit.AutoExecutor(folder=Path(settings.dir) / ".submitit" / "%j",
                                     cluster="slurm" if settings.launcher == "slurm" else "local")
    executor.update_parameters(**submitit_parameters(settings))
    jobs = executor.map_array(main, args)
    print(f"cnnexp-tune: {len(jobs)} workers submitted: {', '.join(j.job_id for j in jobs)}", flush=True)
    failures = []
    for job in jobs:
        try:
            job.result()
        except Exception as e:  # submitit's FailedJobState and friends: the job's log holds the rest
            failures.append(f"worker job {job.job_id} failed ({type(e).__name__}); see {job.paths.stderr}")
    return failures


def submitit_parameters(settings: TuneSettings) -> dict:
    """The `tune.slurm` settings as submitit's executor takes them; submitit's local executor takes the
    generic ones only (and no GPUs: it runs on this machine)."""
    slurm = {k: v for k, v in settings.slurm.items() if v is not None}
    params = {"name": f"cnnexp-tune-{settings.study_name}", "timeout_min": slurm.get("timeout_min"),
              "cpus_per_task": slurm.get("cpus_per_task")}
    if settings.launcher == "slurm":
        params |= {"mem_gb": slurm.get("mem_gb"), "gpus_per_node": slurm.get("gpus_per_node")}
        params |= {f"slurm_{k}": slurm[k] for k in ("partition", "account", "setup") if k in slurm}
    return {k: v for k, v in params.items() if v is not None}


def threads_per_worker(settings: TuneSettings) -> int:
    """Torch threads of each worker: its share of this machine's cores, as the joblib launcher gives its
    jobs, or the cores SLURM gives each job."""
    if settings.launcher == "slurm":
        return settings.slurm["cpus_per_task"]
    return cores_per_job(settings.workers)

