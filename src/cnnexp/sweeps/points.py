"""Grid sweeps before they start and after they end: the points that fail validation (listed in one block),
the job count Hydra logs, the run dirs of a sweep and the HParams summary over them (Hydra callbacks: light,
a single run instantiates them too). The expansion of a sweep into its points and each job's name are
cnnexp.config's (a resolver).

Invalid points are still launched and fail at once, so cnnexp-report shows them as failed jobs with
the same error while the valid points run as usual. Plain Python (Hydra, OmegaConf, validation).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict

from cnnexp.config import compose, is_group, sweep_points, swept_keys
from cnnexp.errors import ConfigError
from cnnexp.hparams import write_sweep_experiment
from cnnexp.validate import checked

log = logging.getLogger("cnnexp")


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
            checked(cfg)
        except ConfigError as e:
            bad.append((point, str(e)))
    return bad


def check_sweep(config_name: str, command: str, overrides: Sequence[str], sweeper: Mapping) -> None:
    """Print one block naming the invalid points of the sweep (if any) on stderr. `sweeper`: the
    hydra.sweeper node composed from the command line's plain overrides (a preset's grid is in it)."""
    points = sweep_points(sweeper, overrides)
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
    points = sweep_points(config.hydra.sweeper, list(config.hydra.overrides.task))
    return len(points) if points is not None else None


class LogJobCount(Callback):
    """Says, before a sweep starts, how many jobs it will launch."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        count = count_jobs(config)
        log.info("cnnexp: this sweep launches %s", f"{count} jobs" if count else "the jobs its sweeper chooses")


def find_jobs(root: Path) -> list[Path]:
    """Run dirs below `root`: every folder holding Hydra's `.hydra/overrides.yaml`."""
    return sorted(p.parent.parent for p in root.rglob(".hydra/overrides.yaml"))


class SweepExperiment(Callback):
    """Writes the experiment summary at a sweep's root once its jobs have finished (conf/hydra/default.yaml)."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        root = Path(config.hydra.sweep.dir)
        write_sweep_experiment(root, find_jobs(root))
