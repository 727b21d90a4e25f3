"""What every cnnexp command does around its job: one-line errors for bad input, a summary table."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from cnnexp.allocator import keep_freed_memory
from cnnexp.errors import USER_ERRORS

# The repository's conf/ (the package is installed editable from the checkout).
CONF_DIR = str(Path(__file__).resolve().parents[2] / "conf")


def print_summary(command: str, metrics: dict[str, float], out_dir: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{command}: {out_dir}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, f"{value:,.4f}" if isinstance(value, float) else f"{value:,}")
    Console().print(table)


def _one_line(error: Exception) -> str:
    """Hydra's multi-line composition errors, as one line that keeps what names the problem."""
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    keep = [ln for ln in lines if not ln.startswith(("Config search path", "provider=", "See https", "full_key",
                                                     "object_type"))]
    text = "; ".join(keep)
    return text.replace("Available options in", "available options in").replace(":;", ":").replace(".;", ";")


def check_overrides(config_name: str, command: str, argv: list[str]) -> None:
    """Compose the config from the command line once, before Hydra runs anything.

    A mistyped key, an unknown option or a syntax error then exits with status 2 and one line,
    like any other bad input. Plain `key=value` command lines are checked, and grid sweeps (`-m`):
    every point composed, the invalid ones listed in one block (see `cnnexp.sweep_check`).
    Other flags go straight to Hydra.
    """
    overrides = argv[1:]
    multirun = [a for a in overrides if a in ("-m", "--multirun")]
    overrides = [a for a in overrides if a not in multirun]
    if not overrides or any(arg.startswith("-") for arg in overrides):
        return
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        with initialize_config_dir(version_base="1.3", config_dir=CONF_DIR):
            if multirun:
                from cnnexp.sweep_check import check_sweep

                check_sweep(config_name, command, overrides)
            else:
                compose(config_name, overrides=overrides)
    except (HydraException, OmegaConfBaseException) as e:
        print(f"{command}: error: {_one_line(e)}", file=sys.stderr)
        raise SystemExit(2) from None


def _in_sweep() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def run_job(command: str, job: Callable[[DictConfig], dict[str, float]], cfg: DictConfig) -> Any:
    """Run `job(cfg)`; bad input exits with status 2 and one line on stderr, no traceback.

    Returns `metrics[cfg.optimized_metric]` (validated before training), the value a sweeper optimizes.
    """
    keep_freed_memory()
    try:
        metrics = job(cfg)
    except USER_ERRORS as e:
        if _in_sweep():
            # One bad point must not end the sweep: its log keeps the reason for cnnexp-report.
            logging.getLogger(command).error("%s: error: %s", command, e)
            return float("nan")
        print(f"{command}: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    if metrics:  # DDP ranks other than 0 return {}: rank 0 reports
        print_summary(command, metrics, cfg.paths.output_dir)
    return metrics.get(cfg.get("optimized_metric", "test/acc"), float("nan"))
