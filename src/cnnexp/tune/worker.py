"""A worker: asks the study for trials until its share (`tune.n_trials`) is done. Each trial is a
cnnexp-train sweep job, run in this process by Hydra's own launcher: a run dir in the study dir named
`<trial number>_<overrides>`, with its .hydra/, train.log, metrics.json, checkpoints and TensorBoard events.
Optuna's ask hands out a queued retry (of a trial whose worker died) before a new point; on a database it
first fails the trials whose heartbeat stopped (tune.heartbeat).

    python -m cnnexp.tune.worker OVERRIDES...   (cnnexp-tune starts these; the front has checked them)
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import optuna
from hydra import initialize_config_dir
from hydra._internal.callbacks import Callbacks
from hydra._internal.core_plugins.basic_launcher import BasicLauncher
from hydra.core.global_hydra import GlobalHydra
from hydra.types import HydraContext, RunMode
from omegaconf import DictConfig

from cnnexp.cli.common import run_job
from cnnexp.config import CONF_DIR
from cnnexp.errors import Interrupted
from cnnexp.files import write_json
from cnnexp.tune.recovery import COMMAND
from cnnexp.tune.results import REPORTED
from cnnexp.tune.settings import TuneSettings, load_settings, train_overrides
from cnnexp.tune.space import override, suggest
from cnnexp.tune.study import open_study

log = logging.getLogger("cnnexp.tune")
# Run dir names stay well under the usual 255-byte limit of a file name.
MAX_NAME = 200


class Objective:
    """optuna's objective: one trial = one Hydra job of the train config, launched in this process so
    that the pruning callback can reach the trial."""

    def __init__(self, settings: TuneSettings, launcher: BasicLauncher, overrides: Sequence[str]) -> None:
        self.settings, self.launcher, self.overrides = settings, launcher, list(overrides)
        self.trial: optuna.Trial | None = None
        self.pruned: optuna.TrialPruned | None = None
        self.stopped = False  # by a signal: optuna's log of the failed trial would add a traceback

    def __call__(self, trial: optuna.Trial) -> float:
        self.trial, self.pruned = trial, None
        if self.settings.command:  # first: a worker killed in this trial leaves it RUNNING under its command
            trial.set_user_attr(COMMAND, self.settings.command)
        point = suggest(trial, self.settings.space)
        name = override("hydra.sweep.subdir", run_name(trial.number, trial.params))
        (job,) = self.launcher.launch([[*self.overrides, *point, name]], trial.number)
        if self.pruned:  # raised here, not in the job: Hydra would log a pruned trial as a failed job
            raise self.pruned
        return job.return_value  # a bug in the job is raised here and ends the worker with its traceback

    def job(self, cfg: DictConfig) -> float:
        """The Hydra task: train, pruned from the per-epoch validation metric; a record in trial.json."""
        trial, out_dir = self.trial, Path(cfg.paths.output_dir)
        trial.set_user_attr("run_dir", str(out_dir))
        try:
            metrics = run_job("cnnexp-tune", self._train, cfg) or {}
        except optuna.TrialPruned as e:
            log.info("trial %d pruned: %s", trial.number, e)
            self.pruned, metrics = e, {}
        value = metrics.get(self.settings.metric, math.nan)
        if REPORTED in metrics:
            trial.set_user_attr(REPORTED, metrics[REPORTED])
        state = "pruned" if self.pruned else "complete" if math.isfinite(value) else "failed"
        write_json(out_dir / "trial.json", {"study": self.settings.study_name, "number": trial.number,
                                            "state": state, "params": trial.params,
                                            self.settings.metric: value if math.isfinite(value) else None,
                                            "note": str(self.pruned or "")})
        return value

    def _train(self, cfg: DictConfig) -> dict[str, float]:
        from optuna_integration import PyTorchLightningPruningCallback

        from cnnexp.training.run import train

        monitor = self.settings.monitor
        try:
            return train(cfg, [PyTorchLightningPruningCallback(self.trial, monitor)] if monitor else [])
        except Interrupted:  # optuna marks the trial failed; cnnexp-tune says what to do, in one line
            self.stopped = True
            raise KeyboardInterrupt from None


def run_name(number: int, params: dict) -> str:
    """`<trial number>_<parameters>`, short: the keys' last part, 3 significant digits (the run's
    .hydra/overrides.yaml and the study keep the exact values); under the file-name limit."""
    text = ",".join(f"{k.split('.')[-1]}={f'{v:.3g}' if isinstance(v, float) else v}" for k, v in params.items())
    return f"{number}_{text}"[:MAX_NAME]


def run_worker(overrides: Sequence[str]) -> None:
    """Run this worker's share of trials (cnnexp-tune checked the settings and created the study)."""
    with initialize_config_dir(version_base="1.3", config_dir=CONF_DIR, job_name="train"):
        settings = load_settings(overrides)
        study = open_study(settings, worker=True)
        trial_overrides = train_overrides(overrides)
        # Each trial is composed from the train config alone, like a cnnexp-train sweep job, in the study dir.
        hydra = GlobalHydra.instance().hydra
        master = hydra.compose_config("train", [*trial_overrides, override("hydra.sweep.dir", settings.dir),
                                                "hydra.mode=MULTIRUN"], run_mode=RunMode.MULTIRUN)
        launcher = BasicLauncher()
        objective = Objective(settings, launcher, trial_overrides)
        for handler in optuna.logging.get_logger("optuna").handlers:
            handler.addFilter(lambda _: not objective.stopped)
        launcher.setup(hydra_context=HydraContext(config_loader=hydra.config_loader, callbacks=Callbacks(master)),
                       task_function=objective.job, config=master)
        study.optimize(objective, n_trials=settings.n_trials)


def main(argv: Sequence[str] | None = None) -> None:
    try:
        run_worker(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:  # stopped by SIGINT or SIGTERM: cnnexp-tune says so in one line
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
