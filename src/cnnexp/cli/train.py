"""cnnexp-train: fit a network, test the checkpoint validation chose on the official test set."""

from __future__ import annotations

import math
import sys
from typing import Any

import hydra
from omegaconf import DictConfig

from cnnexp.cli.common import check_overrides, print_metrics, run_job
from cnnexp.config import CONF_DIR
from cnnexp.data.datasets import ensure_files
from cnnexp.validate import checked


def _train(cfg: DictConfig) -> dict[str, float]:
    config = checked(cfg)  # before torch and Lightning load
    data = config["data"]
    if not data["download"]:  # files that must be there: refused before torch too (a fetch stays after the GPU check)
        ensure_files(data["name"], data["data_dir"], download=False)
    from cnnexp.training.run import train

    return train(config)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
def _main(cfg: DictConfig) -> Any:
    """Returns `metrics[optimized_metric]` (nan for a failed job): the value a sweeper optimizes."""
    metrics = run_job("cnnexp-train", _train, cfg)
    if metrics:  # DDP ranks other than 0 return {}: rank 0 reports
        print_metrics("cnnexp-train", cfg.paths.output_dir, metrics)
    return (metrics or {}).get(cfg.optimized_metric, math.nan)


def main() -> None:
    check_overrides("train", "cnnexp-train", sys.argv, checked, finished_is_kept=True)
    _main()


if __name__ == "__main__":
    main()
