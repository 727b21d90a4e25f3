"""Grid sweeps before they start: the one expansion of a sweep into its points, the points that fail
validation (listed in one block), the job count Hydra logs, and each job's name (what the sweep varies).

Invalid points are still launched and fail at once, so cnnexp-report shows them as failed jobs with
the same error while the valid points run as usual. Plain Python (Hydra, OmegaConf, validation).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict

from cnnexp.config import compose, is_group
from cnnexp.errors import ConfigError
from cnnexp.validate import validate_composed

log = logging.getLogger("cnnexp")


def grid(sweeper: Mapping, overrides: Sequence[str]) -> list[list[str]] | None:
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
        points = grid(master.hydra.sweeper, list(master.hydra.overrides.task))
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


def invalid_points(config_name: str, points: list[list[str]]) -> list[tuple[list[str], str]]:
    """(point, reason) for each point whose composed config fails `validate`.

    Hydra composes each distinct choice of config groups once (a compose costs 0.3-1 s); plain
    `key=value` overrides are then set on a copy, as Hydra would set them.
    """
    parser = OverridesParser.create()
    composed: dict[tuple[str, ...], DictConfig] = {}
    bad = []
    for point in points:
        parsed = parser.parse_overrides(point)
        groups = tuple(o.input_line for o in parsed if is_group(o.key_or_group) or o.is_delete() or o.is_add())
        if groups not in composed:
            composed[groups] = compose(config_name, groups)
        cfg = composed[groups].copy()
        with open_dict(cfg):
            for o in parsed:
                if o.input_line not in groups and not o.key_or_group.startswith("hydra."):
                    OmegaConf.update(cfg, o.key_or_group, o.value(), merge=False)
        try:
            validate_composed(cfg)
        except ConfigError as e:
            bad.append((point, str(e)))
    return bad


def check_sweep(config_name: str, command: str, overrides: Sequence[str], sweeper: Mapping) -> None:
    """Print one block naming the invalid points of the sweep (if any) on stderr. `sweeper`: the
    hydra.sweeper node composed from the command line's plain overrides (a preset's grid is in it)."""
    points = grid(sweeper, overrides)
    bad = invalid_points(config_name, points) if points else []
    if not bad:
        return
    swept = swept_keys(points)
    lines = [f"{command}: {len(bad)} of {len(points)} sweep points are invalid; they will be recorded as failed "
             f"jobs and the other {len(points) - len(bad)} run:"]
    for point, reason in bad:
        lines.append(f"  {','.join(o for o in point if o.split('=', 1)[0] in swept) or ','.join(point)}: {reason}")
    print("\n".join(lines), file=sys.stderr)


def count_jobs(config: DictConfig) -> int | None:
    """Jobs of a grid sweep from its Hydra config; None when the sweeper decides itself."""
    points = grid(config.hydra.sweeper, list(config.hydra.overrides.task))
    return len(points) if points is not None else None


class LogJobCount(Callback):
    """Says, before a sweep starts, how many jobs it will launch."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        count = count_jobs(config)
        log.info("cnnexp: this sweep launches %s", f"{count} jobs" if count else "the jobs its sweeper chooses")
