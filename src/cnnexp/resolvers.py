"""OmegaConf resolvers the configs use: ${cwd:}, ${stamp:}, ${isatty:}, ${multirun:IN_SWEEP,SINGLE_RUN}."""

from __future__ import annotations

import os
import sys
from datetime import datetime

from omegaconf import OmegaConf

_STAMP_ENV = "CNNEXP_RUN_STAMP"


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


def multirun(in_sweep: str, single_run: str) -> str:
    """`in_sweep` in a job of a sweep (`-m`), else `single_run`."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return in_sweep if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN else single_run


def register() -> None:
    OmegaConf.register_new_resolver("cwd", os.getcwd, replace=True)
    # use_cache: Hydra copies a sweep config's resolver cache into every job's config, so launchers
    # whose jobs run further down the process tree (submitit) resolve the same sweep dir.
    OmegaConf.register_new_resolver("stamp", run_stamp, replace=True, use_cache=True)
    OmegaConf.register_new_resolver("multirun", multirun, replace=True)
    # Progress bars for people at a terminal, quiet logs in CI and pipes.
    OmegaConf.register_new_resolver("isatty", lambda: sys.stderr.isatty(), replace=True)
