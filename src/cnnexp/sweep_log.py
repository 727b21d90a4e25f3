"""A Hydra callback that says, before a sweep starts, how many jobs it will launch."""

from __future__ import annotations

import logging
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger("cnnexp")


def count_jobs(config: DictConfig) -> int | None:
    """Jobs of a grid sweep: the product of the choices of every swept key (command line over
    `hydra.sweeper.params`). None when the sweeper decides itself (ranges, intervals, Optuna)."""
    params = config.hydra.sweeper.get("params") or {}
    overrides = [f"{k}={v}" for k, v in params.items()] + list(config.hydra.overrides.task)
    latest = {o.key_or_group: o for o in OverridesParser.create().parse_overrides(overrides)}
    count = 1
    for override in latest.values():
        if override.is_sweep_override():
            try:
                count *= len(list(override.sweep_string_iterator()))
            except Exception:  # ranges and intervals are expanded (or sampled) by the sweeper
                return None
    return count


class LogJobCount(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        count = count_jobs(config)
        log.info("cnnexp: this sweep launches %s", f"{count} jobs" if count else "the jobs its sweeper chooses")
