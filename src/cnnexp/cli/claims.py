"""cnnexp-claims: every claim of the lecture checked, with a verdict, the measured numbers and a figure."""

from __future__ import annotations

import functools
import sys

import hydra
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from cnnexp.cli.common import check_overrides, run_job
from cnnexp.config import CONF_DIR
from cnnexp.validate import checked, validate_claims


def _claims(cfg: DictConfig) -> dict:
    checked(cfg, validate_claims)  # before torch loads
    from cnnexp.claims.run import run_claims

    return run_claims(cfg)


def print_verdicts(result: dict, out_dir: str) -> None:
    table = Table(title=f"cnnexp-claims ({result['wall_s']:.0f} s)")
    for column in ("id", "verdict", "key number"):
        table.add_column(column)
    for r in result["claims"]:
        table.add_row(r["id"], r["verdict"], r["key"])
    Console().print(table)
    print(f"cnnexp-claims: {out_dir}/report.md", flush=True)  # whole, on its own line: it can be copied


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="claims")
def _main(cfg: DictConfig) -> None:
    result = run_job("cnnexp-claims", _claims, cfg)
    if result:
        print_verdicts(result, cfg.paths.output_dir)


def main() -> None:
    check_overrides("claims", "cnnexp-claims", sys.argv, functools.partial(checked, check=validate_claims))
    _main()


if __name__ == "__main__":
    main()
