"""train(cfg): build -> fit -> test -> record. cnnexp-train's heavy path (torch and Lightning).

The test reads the checkpoint validation chose, through the same code as cnnexp-eval.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig

from cnnexp.classifier import Classifier, build_classifier
from cnnexp.data.datamodule import ImageDataModule
from cnnexp.errors import CheckpointError, ConfigError, Interrupted
from cnnexp.files import write_json
from cnnexp.hparams import settings, task_overrides
from cnnexp.readers import read_metrics
from cnnexp.runtime import cpu_processes, keep_freed_memory, quiet_lightning, threads_per_job, use_default_cuda_check
from cnnexp.training.callbacks import TrainThroughput
from cnnexp.training.checkpoint import load_classifier, read_checkpoint
from cnnexp.training.evaluate import assess
from cnnexp.training.interrupt import SignalStop, StopOnSignal
from cnnexp.training.lit_module import LitClassifier
from cnnexp.training.loggers import build_loggers, log_final, tensorboard_writers
from cnnexp.training.run_lock import run_dir_lock
from cnnexp.training.tensorboard import custom_scalars_layout, write_hparams
from cnnexp.validate import GPUS, Checked, checked

log = logging.getLogger("cnnexp.train")
# Steps between progress-bar redraws (a human reads it a few times a second at most).
PROGRESS_REFRESH_STEPS = 10
# Trainer keys that Lightning refuses under manual optimization: LitClassifier applies them itself.
STEP_KEYS = {"gradient_clip_val": "clip_val", "gradient_clip_algorithm": "clip_algorithm",
             "accumulate_grad_batches": "accumulate"}


@dataclass
class Run:
    """What `build` makes for one training."""

    config: dict  # the resolved config
    out_dir: Path
    datamodule: ImageDataModule
    module: LitClassifier
    trainer: L.Trainer
    checkpoint: ModelCheckpoint
    resume_from: Path | None
    settings: dict  # the HParams columns (cnnexp.hparams.settings)
    tested_step: int = 0  # the global step of the checkpoint `test` read


def train(cfg: DictConfig | Checked, extra_callbacks: Sequence[Any] = ()) -> dict[str, float]:
    """Run one training job described by a composed `train` config (checked here unless it already was); return
    its metrics.

    `extra_callbacks`: Lightning callbacks besides the config's, for objects a config cannot describe
    (e.g. a benchmark's own model). With `resume=true` a run dir that holds metrics.json is finished
    and is skipped; one that holds checkpoints/last.ckpt continues from it.
    """
    config = cfg if isinstance(cfg, Checked) else checked(cfg)
    out_dir = Path(config["paths"]["output_dir"])
    stop = StopOnSignal()
    try:
        with run_dir_lock(out_dir), stop.installed():
            if config["resume"] and (out_dir / "metrics.json").is_file():
                last = out_dir / "checkpoints" / "last.ckpt"
                if last.is_file():
                    resumable(last, config)  # the finished run is this config's, not another model's
                log.info("resume: %s has already finished; its metrics stay as they are", out_dir)
                return read_metrics(out_dir / "metrics.json")  # unreadable: refused, not trained over
            run = build(config, [*extra_callbacks, stop])
            fit_s = fit(run)
            if not run.trainer.is_global_zero:
                # DDP: every rank took part in fit; rank 0 alone tests and writes.
                return {}
            return record(run, test(run) if config["test"] else {}, fit_s)
    except (SignalStop, SIGTERMException):  # Lightning's own SIGTERM stop, should it come first
        signum = stop.signum or signal.SIGTERM
        raise Interrupted(stopped(out_dir / "checkpoints" / "last.ckpt", signum), signum) from None


def stopped(last: Path, signum: int) -> str:
    """Where a run stopped by a signal can continue from."""
    name = signal.Signals(signum).name
    if not last.is_file():
        return f"stopped by {name} before the first checkpoint; nothing to resume, run it again"
    ckpt = read_checkpoint(last)
    return (f"stopped by {name}; {last} holds {ckpt['epoch'] + 1} finished epoch(s) (step {ckpt['global_step']}), "
            f"intact: continue with resume=true")


def resumable(last: Path, config: dict) -> dict:
    """The run dir's last checkpoint, verified, if this run can continue it: the same model on the same
    dataset (anything else would not load, or would mix two experiments in one run dir)."""
    ckpt = read_checkpoint(last)
    before = ckpt["cnnexp_config"]
    for section, same in (("model", before["model"] == config["model"]),
                          ("data", before["data"]["name"] == config["data"]["name"])):
        if not same:
            was = before["model"]["_target_"] if section == "model" else before["data"]["name"]
            raise CheckpointError(f"resume=true: checkpoint {last} was written by a run with another {section} "
                                  f"({was}); use a new output dir or resume=false")
    return ckpt


def build(config: Checked, extra_callbacks: Sequence[Any] = ()) -> Run:
    """Process settings, data (fetched and verified first), the LightningModule, the trainer."""
    _process_settings(config)
    out_dir = Path(config["paths"]["output_dir"])
    last = out_dir / "checkpoints" / "last.ckpt"
    resume_from = last if config["resume"] and last.is_file() else None
    resumed = resumable(resume_from, config) if resume_from is not None else None  # before any heavy work
    L.seed_everything(config["seed"], workers=True, verbose=False)
    datamodule = instantiate(config["data"])
    datamodule.prepare_data()  # fetch and verify the files before any model or trainer exists
    module = _module(config)
    callbacks = {name: instantiate(c) for name, c in config["callbacks"].items()}
    if config["trainer"]["enable_progress_bar"]:
        # Lightning's bar refreshes every step by default, gathering its metrics each time.
        callbacks["progress_bar"] = TQDMProgressBar(refresh_rate=PROGRESS_REFRESH_STEPS)
    resumed_step = resumed["global_step"] if resumed is not None else None
    if resumed is not None:
        log.info("resume: continuing %s from global step %d", resume_from, resumed_step)
    # TensorBoard only keeps the columns, for the hparams.yaml Lightning writes when fit starts (a sweep's HParams
    # columns read it); MLflow logs them as the run's params.
    hparams = settings(config, task_overrides())
    loggers = build_loggers(config, hparams, resumed_step)
    trainer_cfg = {k: v for k, v in config["trainer"].items() if k not in STEP_KEYS}
    trainer = instantiate(trainer_cfg, callbacks=[*callbacks.values(), *extra_callbacks], logger=loggers)
    if trainer.strategy.root_device.type == "cpu":
        use_default_cuda_check()
    return Run(config, out_dir, datamodule, module, trainer, callbacks["model_checkpoint"], resume_from, hparams)


def _process_settings(config: Checked) -> None:
    # Here, not only in the commands (run_job): a claims worker or a notebook trains through train() alone, and every
    # training ends with a test on 10,000 images in large batches.
    keep_freed_memory()
    threads = threads_per_job(config["threads"], cpu_processes(config["trainer"]))
    if threads:
        torch.set_num_threads(threads)
    log.info("torch threads: %d", torch.get_num_threads())
    if config["trainer"]["accelerator"] in GPUS and not torch.cuda.is_available():
        raise ConfigError(f"trainer.accelerator={config['trainer']['accelerator']}: no GPU is visible on this "
                          f"machine; use trainer=cpu or trainer=default")
    quiet_lightning()


def _module(config: Checked) -> LitClassifier:
    """The classifier the config describes, in the LightningModule that trains it."""
    try:
        classifier = build_classifier(config)
    except InstantiationException as e:  # a network without a spec is checked here, when built
        raise ConfigError(f"model: {' '.join(str(e).split(chr(10))[:2])}") from None
    optim = instantiate(config["optim"])
    step = {arg: config["trainer"][key] for key, arg in STEP_KEYS.items() if config["trainer"].get(key) is not None}
    # The config goes into every checkpoint as a plain dict: weights_only loading accepts no class of cnnexp's.
    return LitClassifier(classifier, config["data"]["num_classes"], optim.optimizer, optim.scheduler,
                         config["optim"]["interval"], dict(config), augment=instantiate(config["augment"]),
                         label_smoothing=config["optim"]["label_smoothing"], **step)


def fit(run: Run) -> float:
    """Train; return the seconds it took."""
    start = time.perf_counter()
    run.trainer.fit(run.module, datamodule=run.datamodule, ckpt_path=run.resume_from)
    return time.perf_counter() - start


def test(run: Run) -> dict[str, float]:
    """The checkpoint validation chose (a weight average's weights, if one was kept) on the official
    test set, then the invariance suite."""
    best = run.checkpoint.best_model_path
    classifier: Classifier = load_classifier(best) if best else run.module.classifier.eval()
    classifier.to(run.trainer.strategy.root_device)
    run.tested_step = read_checkpoint(best)["global_step"] if best else run.trainer.global_step
    return assess(classifier, run.datamodule.splits["test"], run.config, run.out_dir,
                  tensorboard_writers(run.trainer.loggers), step=run.tested_step)


def record(run: Run, tested: dict[str, float], fit_s: float) -> dict[str, float]:
    """Write metrics.json; in TensorBoard the final metrics as scalars and the HParams session, in every other
    logger the same values (cnnexp.training.loggers)."""
    score = run.checkpoint.best_model_score
    throughput = next((c for c in run.trainer.callbacks if isinstance(c, TrainThroughput)), None)
    metrics = {
        "val/acc_best": float(score) if score is not None else float("nan"),
        **tested,
        "time/fit_s": round(fit_s, 3),
        "throughput/train_img_s": round(throughput.images_per_second, 1) if throughput else float("nan"),
        "epochs": run.trainer.current_epoch,
    }
    write_json(run.out_dir / "metrics.json", metrics)
    # What the tested checkpoint measured sits at its step (not after the last epoch); the run's cost at the end.
    steps = {k: run.tested_step if "/" in k and not k.startswith(("time/", "throughput/")) else run.trainer.global_step
             for k in metrics}
    final = {k: v for k, v in metrics.items() if "/" in k}
    for writer in tensorboard_writers(run.trainer.loggers):
        writer.add_custom_scalars(custom_scalars_layout())
        write_hparams(writer, run.settings, final, new_scalars={k: steps[k] for k in final})
        writer.close()  # its event-writer thread would outlive the run in a process that goes on
    log_final(run.trainer.loggers, metrics, steps, run.out_dir)
    return metrics
