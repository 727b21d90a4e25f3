"""Trainings for the claims: composed `train` configs run by cnnexp-train's own `train(cfg)`, cached.

Each (arm, seed) trains once into `<out>/trainings/<arm>_seed<N>_<hash>`; the hash covers every
override, the optimizer settings they resolve to (an arm's recipe file) and the suite's output layout
(cnnexp.invariance.SCHEMA), so changing the profile or a recipe trains anew while a re-run with the
same settings reads the finished run's metrics.json and invariance.json (and a killed one resumes from
its last checkpoint). Its TensorBoard events go to `<out>/tensorboard/<arm>/seed<N>`, the short run
name a user compares.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from cnnexp.config import compose
from cnnexp.errors import ConfigError
from cnnexp.invariance import SCHEMA
from cnnexp.readers import UnreadableFile, read_invariance, read_metrics
from cnnexp.training.run import train
from cnnexp.validate import Checked, checked

log = logging.getLogger("cnnexp.claims")


@dataclass(frozen=True)
class Trained:
    """One finished training of a claims arm at one seed: its run dir, metrics and invariance results."""

    arm: str
    seed: int
    dir: Path
    metrics: dict
    invariance: dict

    @property
    def tested(self) -> Path:
        """The checkpoint validation chose, the one the run was tested with."""
        (best,) = (self.dir / "checkpoints").glob("best-*.ckpt")
        return best

    @property
    def curve_images(self) -> int:
        """How many official test images (the first ones) its invariance curves measured."""
        return self.invariance["protocol"]["images"]


def as_overrides(values: Mapping[str, Any], prefix: str = "") -> list[str]:
    """{"data": {"train_size": 500}} -> ["data.train_size=500"]: the profile's nested values as overrides."""
    out = []
    for key, value in values.items():
        if isinstance(value, Mapping):
            out += as_overrides(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}={json.dumps(value) if not isinstance(value, str) else value}")
    return out


def run_key(arm: str, seed: int, overrides: Sequence[str]) -> str:
    """`<arm>_seed<N>_<hash of the overrides and of the invariance.json layout the claims read>`."""
    digest = hashlib.sha1("\n".join([*sorted(overrides), f"suite schema {SCHEMA}"]).encode()).hexdigest()[:8]
    return f"{arm}_seed{seed}_{digest}"


class Runs:
    """The trained runs the claims ask for, by arm name, one per seed."""

    def __init__(self, root: Path, seeds: Sequence[int], common: Sequence[str], data_dir: str | Path,
                 workers: int = 1):
        self.root, self.seeds, self.data_dir = Path(root), list(seeds), str(data_dir)
        self.common, self.workers = list(common), workers
        self.fit_seconds = 0.0
        self.trained = self.cached = 0
        self._trained_here: set[Path] = set()  # trained by train_missing's workers: not from the cache
        self._done: dict[str, list[Trained]] = {}  # several claims share an arm: read or train it once
        self._configs: dict[str, list[tuple[int, Path, DictConfig]]] = {}  # composed once, by validate()
        self._checked: dict[Path, Checked] = {}  # resolved and checked once: the workers and train() take them

    def configs(self, arm: str, overrides: Sequence[str]) -> list[tuple[int, Path, DictConfig]]:
        """Every seed's composed config and run dir; composing all first refuses a bad arm before any training."""
        if arm in self._configs:
            return self._configs[arm]
        out = []
        # Composed once per arm, as composing was most of the claims' start: the seeds differ in `seed` alone, which
        # the seeded keys interpolate.
        full = [*self.common, *overrides, "resume=true", f"paths.data_dir={self.data_dir}"]
        arm_cfg = compose("train", full)
        optim = json.dumps(OmegaConf.to_container(arm_cfg.optim, resolve=True), sort_keys=True)
        for seed in self.seeds:
            cfg = copy.deepcopy(arm_cfg)
            cfg.seed = seed
            run_dir = self.root / "trainings" / run_key(arm, seed, [*full, f"seed={seed}", f"optim {optim}"])
            events = self.root / "tensorboard" / arm / f"seed{seed}"
            if not (run_dir / "metrics.json").is_file() and not (run_dir / "checkpoints" / "last.ckpt").is_file():
                shutil.rmtree(events, ignore_errors=True)  # a stale run's (other settings): not mixed with this one's
            with open_dict(cfg):
                cfg.paths.output_dir = str(run_dir)
                # TensorBoard run `<arm>/seed<N>`, beside the report's text in `<claims dir>/tensorboard`
                tb = cfg.logger.tensorboard
                tb.save_dir, tb.name, tb.version = str(events.parent.parent), arm, events.name
            out.append((seed, run_dir, cfg))
        self._configs[arm] = out
        return out

    def checked(self, run_dir: Path, cfg: DictConfig) -> Checked:
        """The run's config resolved and checked (cnnexp.validate.checked), once."""
        if run_dir not in self._checked:
            self._checked[run_dir] = checked(cfg)
        return self._checked[run_dir]

    def validate(self, arms: Sequence[tuple[str, Sequence[str]]]) -> None:
        """Compose and check every arm's config for every seed, and read the cached ones: a bad override or
        a corrupted cache stops the command before anything trains."""
        for arm, overrides in arms:
            try:
                for _, run_dir, cfg in self.configs(arm, overrides):
                    self.checked(run_dir, cfg)
                    if (run_dir / "metrics.json").is_file():
                        read_cached(run_dir)
            except (HydraException, OmegaConfBaseException) as e:
                raise ConfigError(f"training {arm!r} ({' '.join([*self.common, *overrides])}): "
                                  f"{str(e).splitlines()[0]}") from None

    def train_missing(self, arms: Sequence[tuple[str, Sequence[str]]]) -> None:
        """Train every (arm, seed) of `arms` that is not in the cache, `workers` trainings at a time in
        fresh processes, each with cores / workers torch threads (two 1-thread trainings on 2 cores
        finish sooner than one after the other with 2 threads each: small convs scale badly)."""
        todo = [(arm, seed, run_dir, cfg) for arm, overrides in arms
                for seed, run_dir, cfg in self.configs(arm, overrides) if not (run_dir / "metrics.json").is_file()]
        if self.workers < 2 or len(todo) < 2:
            return  # get() trains them in this process, one by one
        # Resolved here, where Hydra is set up (copies: each gets its threads); longest first, so that no long training
        # is left for the end.
        todo = [(arm, seed, run_dir, dict(self.checked(run_dir, cfg))) for arm, seed, run_dir, cfg in todo]
        flops = {json.dumps(c["model"], sort_keys=True): forward_flops(c) for *_, c in todo}
        todo.sort(key=lambda job: -flops[json.dumps(job[3]["model"], sort_keys=True)])
        threads = max(1, (os.cpu_count() or 1) // self.workers)
        log.info("claims: %d trainings in %d worker processes, %d torch thread(s) each", len(todo), self.workers,
                 threads)
        with ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            jobs = {}
            for arm, seed, run_dir, config in todo:
                run_dir.mkdir(parents=True, exist_ok=True)
                config["threads"] = threads
                jobs[pool.submit(_train_one, config)] = (arm, seed, run_dir)
            for job in as_completed(jobs):
                arm, seed, run_dir = jobs[job]
                self.fit_seconds += job.result()
                self.trained += 1
                self._trained_here.add(run_dir)
                log.info("claims: trained %s seed %d (%d of %d)", arm, seed, len(self._trained_here), len(todo))

    def curve_images(self) -> int | None:
        """How many official test images the invariance curves of these runs used."""
        runs = [r for done in self._done.values() for r in done if r.invariance]
        return runs[0].curve_images if runs else None

    def get(self, arm: str, overrides: Sequence[str]) -> list[Trained]:
        """The runs of `arm` for every seed, training the ones not in the cache."""
        if arm in self._done:
            return self._done[arm]
        runs = []
        for seed, run_dir, cfg in self.configs(arm, overrides):
            cached = (run_dir / "metrics.json").is_file()
            if not cached:
                log.info("claims: training %s seed %d -> %s", arm, seed, run_dir)
                run_dir.mkdir(parents=True, exist_ok=True)
                start = time.perf_counter()
            metrics = train(self.checked(run_dir, cfg))
            if run_dir in self._trained_here:
                pass  # counted when its worker finished
            elif cached:
                self.cached += 1
            else:
                self.trained += 1
                self.fit_seconds += time.perf_counter() - start
            runs.append(Trained(arm, seed, run_dir, metrics, read_cached(run_dir)[1]))
        self._done[arm] = runs
        return runs


def read_cached(run_dir: Path) -> tuple[dict, dict]:
    """A finished training's metrics and invariance results ({} where the suite did not run). A corrupted one is
    refused, naming the dir to delete: a file changed after its atomic write is damage to see, not to hide."""
    try:
        invariance = run_dir / "invariance.json"
        return read_metrics(run_dir / "metrics.json"), read_invariance(invariance) if invariance.is_file() else {}
    except UnreadableFile as e:
        raise ConfigError(f"{e}: delete {run_dir} to train it again") from None


def forward_flops(config: dict) -> int:
    """Floating-point operations of the model's forward pass on one image (resolved run config): every claims
    training has the same data and epochs, so they order the trainings by time."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from cnnexp.classifier import build_classifier

    model = build_classifier(config)
    data = config["data"]
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, data["channels"], data["image_size"], data["image_size"]))
    return counter.get_total_flops()


def _train_one(config: dict) -> float:
    """One claims training in a worker process; returns its seconds."""
    start = time.perf_counter()
    train(OmegaConf.create(config))
    return time.perf_counter() - start
