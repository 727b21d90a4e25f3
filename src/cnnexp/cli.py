"""What every cnnexp command does around its job: one-line errors for bad input, a summary table."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig

from cnnexp.errors import USER_ERRORS


def print_summary(command: str, metrics: dict[str, float], out_dir: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{command}: {out_dir}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, f"{value:,.4f}" if isinstance(value, float) else f"{value:,}")
    Console().print(table)


def run_job(command: str, job: Callable[[DictConfig], dict[str, float]], cfg: DictConfig) -> Any:
    """Run `job(cfg)`; bad input exits with status 2 and one line on stderr, no traceback.

    Returns the test accuracy, the value a Hydra sweeper optimizes.
    """
    try:
        metrics = job(cfg)
    except USER_ERRORS as e:
        print(f"{command}: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    print_summary(command, metrics, cfg.paths.output_dir)
    return metrics["test/acc"]
