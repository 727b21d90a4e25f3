"""Trainings for the claims: composed `train` configs run by cnnexp-train's own `train(cfg)`, cached.

Each (arm, seed) trains once into `<out>/trainings/<arm>_seed<N>_<hash>`; the hash covers every
override, so changing the profile trains anew while a re-run with the same settings reads the
finished run's metrics.json and invariance.json (and a killed one resumes from its last checkpoint).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from cnnexp.config import compose
from cnnexp.errors import ConfigError
from cnnexp.training.run import train
from cnnexp.validate import validate

log = logging.getLogger("cnnexp.claims")


@dataclass(frozen=True)
class Run:
    arm: str
    seed: int
    dir: Path
    metrics: dict
    invariance: dict


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
    digest = hashlib.sha1("\n".join(sorted(overrides)).encode()).hexdigest()[:8]
    return f"{arm}_seed{seed}_{digest}"


class Runs:
    """The trained runs the claims ask for, by arm name, one per seed."""

    def __init__(self, root: Path, seeds: Sequence[int], common: Sequence[str], data_dir: str | Path):
        self.root, self.seeds, self.data_dir = Path(root), list(seeds), str(data_dir)
        self.common = list(common)
        self.fit_seconds = 0.0
        self.trained = self.cached = 0
        self._done: dict[str, list[Run]] = {}  # several claims share an arm: read or train it once
        self._configs: dict[str, list[tuple[int, Path, DictConfig]]] = {}  # composed once, by validate()

    def configs(self, arm: str, overrides: Sequence[str]) -> list[tuple[int, Path, DictConfig]]:
        """Every seed's composed config and run dir; composing all first refuses a bad arm before any training."""
        if arm in self._configs:
            return self._configs[arm]
        out = []
        for seed in self.seeds:
            full = [*self.common, *overrides, f"seed={seed}", "resume=true", f"paths.data_dir={self.data_dir}"]
            run_dir = self.root / "trainings" / run_key(arm, seed, full)
            cfg = compose("train", full)
            with open_dict(cfg):
                cfg.paths.output_dir = str(run_dir)
                cfg.run_name = f"{arm}_seed{seed}"
            out.append((seed, run_dir, cfg))
        self._configs[arm] = out
        return out

    def validate(self, arms: Sequence[tuple[str, Sequence[str]]]) -> None:
        """Compose and check every arm's config for every seed: a bad override stops the command
        before anything trains."""
        for arm, overrides in arms:
            try:
                for _, _, cfg in self.configs(arm, overrides):
                    validate(OmegaConf.to_container(cfg, resolve=True))
            except (HydraException, OmegaConfBaseException) as e:
                raise ConfigError(f"training {arm!r} ({' '.join([*self.common, *overrides])}): "
                                  f"{str(e).splitlines()[0]}") from None

    def curve_images(self) -> int | None:
        """How many official test images the invariance curves of these runs used."""
        runs = [r for done in self._done.values() for r in done if r.invariance]
        return runs[0].invariance["consistency"]["images"] if runs else None

    def get(self, arm: str, overrides: Sequence[str]) -> list[Run]:
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
            metrics = train(cfg)
            if cached:
                self.cached += 1
            else:
                self.trained += 1
                self.fit_seconds += time.perf_counter() - start
            inv_file = run_dir / "invariance.json"
            invariance = json.loads(inv_file.read_text()) if inv_file.is_file() else {}
            runs.append(Run(arm, seed, run_dir, metrics, invariance))
        self._done[arm] = runs
        return runs
