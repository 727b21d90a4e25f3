"""cnnexp-eval ckpt_path=PATH: a checkpoint on the official test set and the invariance suite, written
(metrics.json, invariance.json/.csv/.png, TensorBoard) into its own run dir."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from cnnexp.cli.common import check_overrides, print_metrics, run_job
from cnnexp.config import CONF_DIR
from cnnexp.errors import ConfigError
from cnnexp.validate import checked, validate_eval


def _evaluate(cfg: DictConfig) -> dict[str, float]:
    checked(cfg, validate_eval)
    if not Path(cfg.ckpt_path).is_file():
        raise ConfigError(f"ckpt_path={cfg.ckpt_path}: no such file")
    from cnnexp.training.evaluate import evaluate

    return evaluate(cfg)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="eval")
def _main(cfg: DictConfig) -> None:
    metrics = run_job("cnnexp-eval", _evaluate, cfg)
    if metrics:
        print_metrics("cnnexp-eval", cfg.paths.output_dir, metrics)


def main() -> None:
    check_overrides("eval", "cnnexp-eval", sys.argv, functools.partial(checked, check=validate_eval))
    _main()


if __name__ == "__main__":
    main()
