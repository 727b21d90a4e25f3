"""Before a grid sweep starts: expand it as Hydra's BasicSweeper will, compose and validate every point.

Invalid points are listed in one block with their reasons; they still launch and fail at once, so
cnnexp-report shows them as failed jobs with the same error, and the valid points run as usual.
Plain Python (Hydra, OmegaConf, cnnexp.validate): no torch, so it costs a fraction of a second.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hydra import compose
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf, open_dict

from cnnexp.cli import CONF_DIR
from cnnexp.errors import ConfigError
from cnnexp.validate import validate


def sweep_points(config_name: str, overrides: list[str]) -> list[list[str]] | None:
    """Every point of the sweep as a list of overrides, in launch order; None when the sweeper is not
    Hydra's grid sweeper (Optuna chooses its own points) or the sweep is not a finite grid."""
    parser = OverridesParser.create()
    plain = [o.input_line for o in parser.parse_overrides(overrides) if not o.is_sweep_override()]
    # Presets (experiment=...) put their grid in hydra.sweeper.params; the command line comes after it.
    sweeper = compose(config_name, overrides=plain, return_hydra_config=True).hydra.sweeper
    if not str(sweeper.get("_target_", "")).endswith("BasicSweeper"):
        return None
    params = [f"{k}={v}" for k, v in (sweeper.get("params") or {}).items()]
    try:
        (points,) = BasicSweeper.split_arguments(parser.parse_overrides(params + overrides), None)
    except Exception:  # intervals and other sweeps the grid sweeper refuses: Hydra says so itself
        return None
    return points


# The sections validate() reads.
VALIDATED = ("seed", "resume", "threads", "optimized_metric", "data", "model", "augment", "optim", "trainer",
             "invariance")


def _is_group(key: str) -> bool:
    """`model`, `augment`, `hydra/launcher`: a config group (a folder of conf/), chosen by composing."""
    return "/" in key or (Path(CONF_DIR) / key).is_dir()


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
        groups = tuple(o.input_line for o in parsed if _is_group(o.key_or_group) or o.is_delete() or o.is_add())
        if groups not in composed:
            composed[groups] = compose(config_name, overrides=list(groups))
        cfg = composed[groups].copy()
        with open_dict(cfg):
            for o in parsed:
                if o.input_line not in groups and not o.key_or_group.startswith("hydra."):
                    OmegaConf.update(cfg, o.key_or_group, o.value(), merge=False)
            cfg.paths.output_dir = ""  # Hydra sets it per job; validation does not look at it
        # Resolving the whole config costs most of the time; validate() reads only these sections.
        config = {k: OmegaConf.to_container(cfg[k], resolve=True) if OmegaConf.is_config(cfg[k]) else cfg[k]
                  for k in VALIDATED if k in cfg}
        try:
            validate(config)
        except ConfigError as e:
            bad.append((point, str(e)))
    return bad


def check_sweep(config_name: str, command: str, overrides: list[str]) -> None:
    """Print one block naming the invalid points of the sweep (if any) on stderr."""
    points = sweep_points(config_name, overrides)
    if not points:
        return
    bad = invalid_points(config_name, points)
    if not bad:
        return
    swept = {o.split("=", 1)[0] for p in points for o in p if sum(o in q for q in points) < len(points)}
    lines = [f"{command}: {len(bad)} of {len(points)} sweep points are invalid; they will be recorded as failed "
             f"jobs and the other {len(points) - len(bad)} run:"]
    for point, reason in bad:
        lines.append(f"  {','.join(o for o in point if o.split('=', 1)[0] in swept) or ','.join(point)}: {reason}")
    print("\n".join(lines), file=sys.stderr)
