"""cnnexp-train: fit a network, test its best-validation checkpoint on the official test set.

Flow: config -> validation (plain Python; torch and lightning not yet imported) -> data and
model -> fit -> test -> metrics.json + TensorBoard (scalars, figures, HParams with real metrics).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from cnnexp import resolvers
from cnnexp.cli import CONF_DIR, check_overrides, run_job
from cnnexp.errors import ConfigError
from cnnexp.validate import validate

resolvers.register()
log = logging.getLogger("cnnexp.train")
# Steps between progress-bar redraws (a human reads it a few times a second at most).
PROGRESS_REFRESH_STEPS = 10
# The config sections shown in TensorBoard's HParams tab (paths, loggers and callbacks are plumbing).
HPARAM_SECTIONS = ("seed", "data", "model", "augment", "optim", "trainer", "invariance")


def _launcher_cores() -> int | None:
    """Cores one sweep job may use: the joblib launcher shares the machine out among its parallel
    jobs (2 jobs x 2 threads on 2 cores fight each other and finish later than one after the other);
    submitit gives each job `cpus_per_task`. None: no such limit (a single run, the basic launcher)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    launcher = HydraConfig.get().launcher
    target = str(launcher.get("_target_", ""))
    if "submitit" in target:
        return launcher.get("cpus_per_task")
    if "joblib" not in target:
        return None
    cores = os.cpu_count() or 1
    n_jobs = launcher.get("n_jobs", -1)
    n_jobs = cores if n_jobs is None or n_jobs < 1 else n_jobs
    return max(1, cores // n_jobs)


def threads_per_job(requested: int | None, processes: int = 1) -> int | None:
    """`threads` if set; else the job's cores (see `_launcher_cores`) shared among its `processes`
    (DDP on the CPU runs one process per device on the same cores)."""
    if requested:
        return requested
    cores = _launcher_cores()
    if cores is None and processes == 1:
        return None
    return max(1, (cores or os.cpu_count() or 1) // processes)


def cpu_processes(trainer_cfg: DictConfig) -> int:
    """Processes a CPU run starts on this machine: `devices` under a DDP strategy, else 1."""
    if trainer_cfg.get("strategy") is None or trainer_cfg.accelerator != "cpu":
        return 1
    devices = trainer_cfg.devices
    return devices if isinstance(devices, int) and devices > 0 else os.cpu_count() or 1


def train(cfg: DictConfig, extra_callbacks: Sequence[Any] = ()) -> dict[str, float]:
    """Run one training job described by a composed `train` config; return its metrics.

    `extra_callbacks`: Lightning callbacks to run besides the config's, for objects a config cannot
    describe (e.g. one holding a benchmark's own model).

    With `resume=true` a run dir that holds metrics.json is finished and is skipped; one that holds
    checkpoints/last.ckpt continues from it.
    """
    config = OmegaConf.to_container(cfg, resolve=True)
    validate(config)
    out_dir = Path(cfg.paths.output_dir)
    if cfg.resume and (out_dir / "metrics.json").is_file():
        log.info("resume: %s has already finished; its metrics stay as they are", out_dir)
        return json.loads((out_dir / "metrics.json").read_text())

    import torch

    threads = threads_per_job(cfg.threads, cpu_processes(cfg.trainer))
    if threads:
        torch.set_num_threads(threads)
    log.info("torch threads: %d", torch.get_num_threads())
    if cfg.trainer.accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ConfigError(f"trainer.accelerator={cfg.trainer.accelerator}: no GPU is visible on this machine; "
                          f"use trainer=cpu or trainer=default")

    import lightning as L
    from hydra.utils import instantiate

    from cnnexp.classifier import build_classifier
    from cnnexp.console import quiet_lightning
    from cnnexp.cuda_check import use_default_cuda_check
    from cnnexp.files import write_json
    from cnnexp.models.summary import count_parameters
    from cnnexp.module import ClassifierModule
    from cnnexp.tensorboard.hparams import flatten, write_hparams
    from cnnexp.tensorboard.layout import custom_scalars_layout

    quiet_lightning()
    last = out_dir / "checkpoints" / "last.ckpt"
    resume_from = last if cfg.resume and last.is_file() else None
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()  # fetch/verify the files before any model or trainer exists
    classifier = build_classifier(config)
    net = classifier.net
    optim = instantiate(cfg.optim)
    module = ClassifierModule(classifier, cfg.data.num_classes, optim.optimizer, optim.scheduler,
                              cfg.optim.interval, config, augment=instantiate(cfg.augment),
                              label_smoothing=cfg.optim.label_smoothing)
    callbacks = {name: instantiate(c) for name, c in cfg.callbacks.items()}
    if cfg.trainer.enable_progress_bar:
        # Lightning's bar refreshes every step by default, gathering its metrics each time.
        callbacks["progress_bar"] = L.pytorch.callbacks.TQDMProgressBar(refresh_rate=PROGRESS_REFRESH_STEPS)
    logger_kwargs = {}
    if resume_from is not None:
        # Hide events the killed run wrote after its last checkpoint: no duplicate steps in TensorBoard.
        step = torch.load(resume_from, map_location="cpu", weights_only=True)["global_step"]
        logger_kwargs["purge_step"] = step
        log.info("resume: continuing %s from global step %d", resume_from, step)
    loggers = [instantiate(c, **logger_kwargs) for c in cfg.logger.values()]
    trainer = instantiate(cfg.trainer, callbacks=[*callbacks.values(), *extra_callbacks], logger=loggers)
    if trainer.strategy.root_device.type == "cpu":
        use_default_cuda_check()

    start = time.perf_counter()
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from)
    fit_s = time.perf_counter() - start
    checkpoint = callbacks["model_checkpoint"]
    # A weight-averaging callback (e.g. EMA) saves the averaged weights as the checkpoint's state_dict
    # (the ones validation scored), but on loading any checkpoint it puts the raw training weights
    # back into the module; without it, the test loads exactly the weights that were selected.
    trainer.callbacks = [c for c in trainer.callbacks if not isinstance(c, L.pytorch.callbacks.WeightAveraging)]
    tested = trainer.test(module, datamodule=datamodule, ckpt_path=checkpoint.best_model_path or None,
                          verbose=False)[0]

    if not trainer.is_global_zero:
        # DDP: every rank took part in fit and test (the metrics are synced across ranks);
        # rank 0 alone writes metrics.json, the invariance suite and the TensorBoard extras.
        return {}
    throughput = callbacks.get("train_throughput")
    metrics = {
        "test/acc": float(tested["test/acc"]),
        "test/loss": float(tested["test/loss"]),
        "val/acc": float(checkpoint.best_model_score) if checkpoint.best_model_score is not None else float("nan"),
        "params/total": count_parameters(net),
        "params/trainable": count_parameters(net, trainable_only=True),
        "time/fit_s": round(fit_s, 3),
        "throughput/train_img_s": round(throughput.images_per_second, 1) if throughput else float("nan"),
        "epochs": trainer.current_epoch,
    }
    writers = [lg.experiment for lg in trainer.loggers if isinstance(lg, L.pytorch.loggers.TensorBoardLogger)]
    curves = ()
    if cfg.invariance.enabled:
        from cnnexp.invariance.report import CURVES as curves

        metrics |= invariance(module, datamodule, config["invariance"], out_dir, writers)
    write_json(out_dir / "metrics.json", metrics)
    new_scalars = ["time/fit_s", "throughput/train_img_s", *(k for k in metrics if k.startswith("inv/"))]
    for writer in writers:
        writer.add_custom_scalars(custom_scalars_layout(curves))
        settings = {k: config[k] for k in HPARAM_SECTIONS}
        write_hparams(writer, flatten(settings), {k: v for k, v in metrics.items() if "/" in k}, new_scalars)
        writer.close()  # its event-writer thread would outlive the run in a process that goes on
    return metrics


def invariance(module, datamodule, inv_cfg: dict, out_dir: Path, writers: list) -> dict[str, float]:
    """Run the invariance suite on the tested model; write its files and curves; return its summary."""
    from cnnexp.invariance.report import log_to_tensorboard, write_outputs
    from cnnexp.invariance.suite import run_suite

    images, labels = datamodule.splits["test"]
    results = run_suite(module.model.eval(), images, labels, inv_cfg)
    write_outputs(results, out_dir)
    for writer in writers:
        log_to_tensorboard(writer, results)
    return results["summary"]


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
def _main(cfg: DictConfig) -> Any:
    return run_job("cnnexp-train", train, cfg)


def main() -> None:
    check_overrides("train", "cnnexp-train", sys.argv)
    _main()


if __name__ == "__main__":
    main()
