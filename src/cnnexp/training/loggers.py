"""The loggers a run writes to (conf/logger/: tensorboard, csv, mlflow, or a list of them): built from the config
with the run's HParams columns, and at the end given metrics.json's values and the invariance suite's files.

The one module that tells the loggers apart: TensorBoard gets cnnexp's own views (cnnexp.training.tensorboard,
its HParams session holds the final metrics), every other logger the final metrics through Lightning's API.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from hydra.utils import get_class, instantiate
from lightning.pytorch.loggers import Logger, MLFlowLogger, TensorBoardLogger
from torch.utils.tensorboard import SummaryWriter

from cnnexp.hparams import HParamValue

# The suite's files an MLflow run keeps as artifacts, those it wrote (the PNGs with invariance.figures, layers.png
# where the layer profile was measured).
ARTIFACTS = ("invariance.json", "invariance.png", "layers.png")
# In paths.log_dir, beside the MLflow store (conf/logger/mlflow.yaml).
MLFLOW_LOCK = ".mlflow.lock"


def build_loggers(config: Mapping[str, Any], params: Mapping[str, HParamValue],
                  resumed_step: int | None = None) -> list[Logger]:
    """Every logger of `config["logger"]`, with `params` (cnnexp.hparams.settings) logged as its hyper-parameters."""
    classes = {name: get_class(c["_target_"]) for name, c in config["logger"].items()}
    mlflow = any(issubclass(cls, MLFlowLogger) for cls in classes.values())
    if mlflow:
        _quiet_mlflow()
    with _mlflow_lock(Path(config["paths"]["log_dir"])) if mlflow else nullcontext():
        loggers = [instantiate(c, **_given(c, classes[name], config, resumed_step))
                   for name, c in config["logger"].items()]
        for logger in loggers:
            logger.log_hyperparams(dict(params))
    return loggers


def _given(cfg: Mapping[str, Any], cls: type, config: Mapping[str, Any], resumed_step: int | None) -> dict:
    """What the run gives a logger beside its config.

    TensorBoard, when resumed: hide the events the killed run wrote after `resumed_step` (no duplicate steps;
    CSVLogger starts a new version dir and MLflow a new run by themselves). MLflow, unless the config names them:
    the folders' names, so the store mirrors paths.log_dir (an experiment per folder of runs: train/runs,
    train/multiruns/<sweep>, tune/<study>; a run per run dir, named as TensorBoard names a sweep's jobs).
    """
    if issubclass(cls, TensorBoardLogger):
        return {"purge_step": resumed_step} if resumed_step is not None else {}
    if issubclass(cls, MLFlowLogger):
        run_dir, log_dir = Path(config["paths"]["output_dir"]).resolve(), Path(config["paths"]["log_dir"]).resolve()
        folder = run_dir.parent
        below = folder.is_relative_to(log_dir) and folder != log_dir
        names = {"experiment_name": str(folder.relative_to(log_dir)) if below else folder.name,
                 "run_name": run_dir.name}
        return {k: v for k, v in names.items() if k not in cfg}
    return {}


def _quiet_mlflow() -> None:
    """Before mlflow is imported: no usage report sent (cnnexp runs offline), no INFO lines of its own handler
    (they bypass the run's log), and not Lightning's warning that a new store has no experiment yet."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    logging.getLogger("lightning.pytorch.loggers.mlflow").setLevel(logging.ERROR)


@contextmanager
def _mlflow_lock(log_dir: Path) -> Iterator[None]:
    """One process at a time opens the store: a sweep's jobs start together, and neither MLflow (a new SQLite
    store's tables) nor Lightning (a new experiment) guards against two processes creating the same."""
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / MLFLOW_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, even if the process dies
        yield


def tensorboard_writers(loggers: Sequence[Logger]) -> list[SummaryWriter]:
    """The event writers of the run's TensorBoard loggers: cnnexp's own views go through them."""
    return [lg.experiment for lg in loggers if isinstance(lg, TensorBoardLogger)]


def log_final(loggers: Sequence[Logger], metrics: Mapping[str, float], steps: Mapping[str, int],
              run_dir: Path) -> None:
    """metrics.json's values, each at its step in `steps`, to every logger but TensorBoard (the run writes its
    HParams session with them); the suite's files to MLflow; then each of those loggers closes its run."""
    at: dict[int, dict[str, float]] = {}
    for key, value in metrics.items():
        at.setdefault(steps[key], {})[key] = value
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            continue
        for step, values in sorted(at.items()):
            logger.log_metrics(values, step)
        if isinstance(logger, MLFlowLogger):
            for name in ARTIFACTS:
                if (run_dir / name).is_file():
                    logger.experiment.log_artifact(logger.run_id, str(run_dir / name))
        # Lightning ended the run when fit ended (MLflow: FINISHED, CSV: saved); again with the test's numbers.
        logger.finalize("success")
