"""Where the configs are, composing them, the resolvers they use, and whether this job is part of a sweep.

Plain Python (Hydra and OmegaConf only): every command composes and validates before torch loads.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime
from importlib.resources import files
from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

# The repository's conf/, shipped inside the package as cnnexp.conf (see pyproject.toml): the same
# directory for an editable install and for a wheel.
CONF_DIR = str(Path(str(files("cnnexp.conf"))).resolve())
_STAMP_ENV = "CNNEXP_RUN_STAMP"


def is_group(key: str) -> bool:
    """`model`, `augment`, `hydra/launcher`: a config group (a folder of conf/), chosen by composing."""
    return "/" in key or (Path(CONF_DIR) / key).is_dir()


def compose(config_name: str, overrides: Sequence[str] = (), return_hydra_config: bool = False) -> DictConfig:
    """`config_name` with `overrides`, composed as its command would compose it.

    Inside a command Hydra is already initialised on CONF_DIR; tests, benchmarks and scripts are not.
    """
    ready = GlobalHydra.instance().is_initialized()
    with nullcontext() if ready else initialize_config_dir(version_base="1.3", config_dir=CONF_DIR):
        return hydra_compose(config_name, overrides=list(overrides), return_hydra_config=return_hydra_config)


def in_sweep() -> bool:
    """True in a job of a sweep (`-m`), False in a single run or outside Hydra."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def run_stamp() -> str:
    """`<date>_<time>_<pid>` of the command that was launched.

    The pid keeps two commands started in the same second apart. Parallel launchers (joblib)
    resolve the sweep dir again in their worker processes, so the stamp is handed to direct
    children through the environment; any other process makes its own.
    """
    inherited = os.environ.get(_STAMP_ENV, "")
    owner, _, stamp = inherited.partition(":")
    if stamp and owner in (str(os.getpid()), str(os.getppid())):
        return stamp
    stamp = f"{datetime.now():%Y-%m-%d_%H-%M-%S}_{os.getpid()}"
    os.environ[_STAMP_ENV] = f"{os.getpid()}:{stamp}"
    return stamp


def class_name(target: str) -> str:
    """A `_target_`'s class, lower case: `cnnexp.models.lenet5.LeNet5` -> `lenet5`."""
    return str(target).rsplit(".", 1)[-1].lower()


def register_resolvers() -> None:
    """${cwd:}, ${stamp:}, ${isatty:}, ${multirun:IN_SWEEP,SINGLE_RUN}, ${class_name:TARGET}, ${sweep_job:}."""
    OmegaConf.register_new_resolver("cwd", os.getcwd, replace=True)
    # use_cache: Hydra copies a sweep config's resolver cache into every job's config, so launchers
    # whose jobs run further down the process tree (submitit) resolve the same sweep dir.
    OmegaConf.register_new_resolver("stamp", run_stamp, replace=True, use_cache=True)
    OmegaConf.register_new_resolver("multirun", lambda sweep, single: sweep if in_sweep() else single, replace=True)
    # Progress bars for people at a terminal, quiet logs in CI and pipes.
    OmegaConf.register_new_resolver("isatty", lambda: sys.stderr.isatty(), replace=True)
    # A run's default name: its network's class, `cnnexp.models.lenet5.LeNet5` -> `lenet5`.
    OmegaConf.register_new_resolver("class_name", class_name, replace=True)
    # A sweep job's dir and TensorBoard run name: the overrides its sweep varies (cnnexp.cli.sweeps.job_name).
    OmegaConf.register_new_resolver("sweep_job", _sweep_job, replace=True)


def _sweep_job() -> str:
    from cnnexp.cli.sweeps import job_name  # it imports this module

    return job_name()


# The configs name these resolvers, so importing this module (every command does) registers them.
register_resolvers()
