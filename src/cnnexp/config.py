"""Where the configs are, composing them, the resolvers they use, and whether this job is part of a sweep.

Plain Python (Hydra and OmegaConf only): every command composes and validates before torch loads.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime
from functools import cache
from importlib.resources import files
from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from cnnexp.data.datasets import fact

# The repository's conf/, shipped inside the package as cnnexp.conf (see pyproject.toml): the same
# directory for an editable install and for a wheel.
CONF_DIR = str(Path(str(files("cnnexp.conf"))).resolve())
_STAMP_ENV = "CNNEXP_RUN_STAMP"


def is_group(key: str) -> bool:
    """`model`, `augment`, `hydra/launcher`: a config group (a folder of conf/), chosen by composing."""
    return "/" in key or (Path(CONF_DIR) / key).is_dir()


@contextmanager
def on_conf() -> Iterator[None]:
    """Hydra initialised on CONF_DIR for the block: inside a command it already is; tests, benchmarks and scripts
    are not."""
    ready = GlobalHydra.instance().is_initialized()
    with nullcontext() if ready else initialize_config_dir(version_base="1.3", config_dir=CONF_DIR):
        yield


def compose(config_name: str, overrides: Sequence[str] = (), return_hydra_config: bool = False) -> DictConfig:
    """`config_name` with `overrides`, composed as its command would compose it."""
    with on_conf():
        return hydra_compose(config_name, overrides=list(overrides), return_hydra_config=return_hydra_config)


def group_options(group: str) -> list[str]:
    """A config group's options as Hydra finds them (conf/ and the plugins' groups, e.g. hydra/launcher)."""
    with on_conf():
        return GlobalHydra.instance().config_loader().get_group_options(group)


def in_sweep() -> bool:
    """True in a job of a sweep (`-m`), False in a single run or outside Hydra."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def start_command() -> None:
    """A command launched by hand makes its own stamp: one inherited from the process that started it (a script
    or a test that once composed a config) would put two commands started together into one run dir."""
    os.environ.pop(_STAMP_ENV, None)


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
    """${cwd:}, ${stamp:}, ${isatty:}, ${multirun:IN_SWEEP,SINGLE_RUN}, ${class_name:TARGET}, ${sweep_job:},
    ${dataset:KEY}."""
    OmegaConf.register_new_resolver("cwd", os.getcwd, replace=True)
    # use_cache: Hydra copies a sweep config's resolver cache into every job's config, so launchers
    # whose jobs run further down the process tree (submitit) resolve the same sweep dir.
    OmegaConf.register_new_resolver("stamp", run_stamp, replace=True, use_cache=True)
    OmegaConf.register_new_resolver("multirun", lambda sweep, single: sweep if in_sweep() else single, replace=True)
    # Progress bars for people at a terminal, quiet logs in CI and pipes.
    OmegaConf.register_new_resolver("isatty", lambda: sys.stderr.isatty(), replace=True)
    # A run's default name: its network's class, `cnnexp.models.lenet5.LeNet5` -> `lenet5`.
    OmegaConf.register_new_resolver("class_name", class_name, replace=True)
    # A sweep job's dir and TensorBoard run name: the overrides its sweep varies.
    OmegaConf.register_new_resolver("sweep_job", job_name, replace=True)
    # A dataset's channels, image size and classes, from its Source (cnnexp.data.datasets).
    OmegaConf.register_new_resolver("dataset", fact, replace=True)


def sweep_points(sweeper: Mapping, overrides: Sequence[str]) -> list[list[str]] | None:
    """Every point of a sweep as a list of overrides, in launch order, as Hydra's grid sweeper expands
    `sweeper.params` then the command line; None when the sweeper is not the grid sweeper (Optuna
    chooses its own points) or the sweep is not a finite grid."""
    if not str(sweeper.get("_target_", "")).endswith("BasicSweeper"):
        return None
    params = [f"{k}={v}" for k, v in (sweeper.get("params") or {}).items()]
    try:
        (points,) = BasicSweeper.split_arguments(OverridesParser.create().parse_overrides([*params, *overrides]), None)
    except Exception:  # intervals and other sweeps the grid sweeper refuses: Hydra says so itself
        return None
    return points


def swept_keys(points: Sequence[Sequence[str]]) -> set[str]:
    """The keys whose override is not the same in every point: what the sweep varies."""
    return {o.split("=", 1)[0] for p in points for o in p if sum(o in q for q in points) < len(points)}


@cache
def _swept_keys_of(multirun_yaml: str, _mtime_ns: int) -> frozenset[str] | None:
    try:
        master = OmegaConf.load(multirun_yaml)
        points = sweep_points(master.hydra.sweeper, list(master.hydra.overrides.task))
    except Exception:  # not a grid sweep's file, or one this Hydra cannot read: name jobs by all overrides
        return None
    return frozenset(swept_keys(points)) if points else None


def job_name() -> str:
    """A sweep job's name, `${sweep_job:}` in its dir (TensorBoard's run name): the overrides the sweep varies,
    spelled as Hydra's `override_dirname` (`model.pooling=max,seed=0`); the constant ones stay in the `overrides`
    hparam. Jobs get the grid from the sweep dir's multirun.yaml, which Hydra's grid sweeper writes before any
    job starts; a sweep without it (another sweeper) or that varies nothing keeps every override."""
    if not HydraConfig.initialized():  # a config composed outside a command: no job, no overrides
        return ""
    hydra = HydraConfig.get()
    multirun = Path(hydra.sweep.dir) / "multirun.yaml"
    swept = _swept_keys_of(str(multirun), multirun.stat().st_mtime_ns) if multirun.is_file() else None
    sep = hydra.job.config.override_dirname
    keep = (swept or set()) - set(sep.exclude_keys)
    lines = sorted(o for o in hydra.overrides.task if o.split("=", 1)[0] in keep)
    return sep.item_sep.join(lines).replace("=", sep.kv_sep) or hydra.job.override_dirname


# The configs name these resolvers, so importing this module (every command does) registers them.
register_resolvers()
