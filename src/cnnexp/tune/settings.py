"""cnnexp-tune's settings (the `tune` section) checked before any study or training starts.

Hydra and optuna's distributions, no torch: each failure is one ConfigError naming the key, the value and
what is allowed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf, open_dict

from cnnexp.config import compose
from cnnexp.errors import ConfigError
from cnnexp.tune.space import SearchSpace, parse_space
from cnnexp.tune.storage import is_url
from cnnexp.validate import check_optimized_metric, choice, integer

LAUNCHERS = ("local", "slurm", "submitit_local")
DIRECTIONS = ("maximize", "minimize")
# The per-epoch series a pruner watches for each metric it may stop a trial on (the others exist only at the end).
PER_EPOCH = {"val/acc_best": "val/acc"}
NO_PRUNING = "optuna.pruners.NopPruner"
# Command-line keys that set up the search, not a trial's training.
TUNE_ONLY = ("tune", "hparams_search")


@dataclass(frozen=True)
class TuneSettings:
    n_trials: int
    workers: int
    launcher: str
    storage: str
    study_name: str
    direction: str
    metric: str  # the train config's optimized_metric
    dir: str
    space: SearchSpace
    sampler: dict
    pruner: dict
    slurm: dict
    heartbeat: tuple[int, int]  # (interval, grace period) in seconds: database storages only
    command: str | None  # set by cnnexp-tune on its workers: the tag of the trials they run

    @property
    def monitor(self) -> str | None:
        """The per-epoch metric the pruner reads; None when nothing is pruned."""
        return None if self.pruner["_target_"] == NO_PRUNING else PER_EPOCH[self.metric]


def resolved(cfg: DictConfig) -> dict:
    """The composed `tune` config as plain data; the run dir Hydra would set is not needed to check it."""
    cfg = cfg.copy()
    with open_dict(cfg):
        cfg.paths.output_dir = ""
    return OmegaConf.to_container(cfg, resolve=True)


def load_settings(overrides: Sequence[str]) -> TuneSettings:
    """The settings of `cnnexp-tune OVERRIDES`: a key the command line sets is fixed, not searched."""
    parsed = OverridesParser.create().parse_overrides(list(overrides))
    return read_settings(resolved(compose("tune", overrides)), fixed={o.key_or_group for o in parsed})


def read_settings(config: Mapping[str, Any], fixed: Collection[str] = ()) -> TuneSettings:
    """The `tune` section of a resolved `tune` config, checked; the search space's keys against the rest."""
    check_optimized_metric(config)  # validation selects: a test-set metric is refused before anything else
    integer(config, "tune.n_trials", 0)
    integer(config, "tune.workers", 1)
    integer(config, "tune.heartbeat.interval", 1)
    integer(config, "tune.heartbeat.grace_period", 1)
    choice(config, "tune.launcher", LAUNCHERS)
    choice(config, "tune.direction", DIRECTIONS)
    tune = config["tune"]
    if tune["launcher"] == "slurm" and shutil.which("srun") is None:
        raise ConfigError("tune.launcher=slurm: no SLURM on this machine (srun not found); run cnnexp-tune on the "
                          "cluster's login node, or use tune.launcher=local")
    for key in ("storage", "study_name", "dir"):
        if not isinstance(tune[key], str) or not tune[key].strip():
            raise ConfigError(f"tune.{key}={tune[key]!r}: must be a non-empty string")
    if tune["command"] is not None and (not isinstance(tune["command"], str) or not tune["command"].strip()):
        raise ConfigError(f"tune.command={tune['command']!r}: must be a non-empty string or null (cnnexp-tune "
                          f"sets it on its workers)")
    heartbeat = tune["heartbeat"]["interval"], tune["heartbeat"]["grace_period"]
    if heartbeat[1] <= heartbeat[0]:  # a live worker would be taken for dead between two of its heartbeats
        raise ConfigError(f"tune.heartbeat.grace_period={heartbeat[1]}: must be longer than tune.heartbeat.interval="
                          f"{heartbeat[0]}")
    pruner = tune["pruner"]
    if pruner["_target_"] != NO_PRUNING and config["optimized_metric"] not in PER_EPOCH:
        raise ConfigError(f"optimized_metric={config['optimized_metric']!r}: has no per-epoch series to prune on; "
                          f"use tune/pruner=none (or prune on {', '.join(PER_EPOCH)})")
    # A journal file is relative to the directory the command started in.
    storage = tune["storage"] if is_url(tune["storage"]) else os.path.abspath(tune["storage"])
    space = tune["search_space"]
    space = parse_space({k: v for k, v in space.items() if k not in fixed} if isinstance(space, Mapping) else space,
                        config)
    return TuneSettings(tune["n_trials"], tune["workers"], tune["launcher"], storage, tune["study_name"],
                        tune["direction"], config["optimized_metric"], os.path.abspath(tune["dir"]), space,
                        dict(tune["sampler"]), dict(pruner), dict(tune["slurm"]), heartbeat, tune["command"])


def train_overrides(overrides: Sequence[str]) -> list[str]:
    """The command line's overrides of the train config: what every trial starts from."""
    parsed = OverridesParser.create().parse_overrides(list(overrides))
    return [o.input_line for o in parsed if o.key_or_group.split(".")[0].split("/")[0] not in TUNE_ONLY]
