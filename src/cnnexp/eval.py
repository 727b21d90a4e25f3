"""cnnexp-eval ckpt_path=PATH: test accuracy on the official test set and the invariance suite.

Writes metrics.json, invariance.json/.csv/.png and TensorBoard events into its own run dir.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from cnnexp import resolvers
from cnnexp.cli import CONF_DIR, check_overrides, run_job
from cnnexp.errors import ConfigError

resolvers.register()


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Evaluate `cfg.ckpt_path` on `cfg.data`'s test split; return the metrics written."""
    config = OmegaConf.to_container(cfg, resolve=True)
    ckpt = Path(config["ckpt_path"])
    if not ckpt.is_file():
        raise ConfigError(f"ckpt_path={ckpt}: no such file")

    from cnnexp.checkpoint import load_classifier

    model = load_classifier(ckpt)  # a bad file is refused before the rest loads

    import torch.nn.functional as F
    from hydra.utils import instantiate
    from torch.utils.tensorboard import SummaryWriter

    from cnnexp.files import write_json
    from cnnexp.invariance.metrics import predict
    from cnnexp.invariance.report import log_to_tensorboard, write_outputs
    from cnnexp.invariance.suite import run_suite
    from cnnexp.models.summary import count_parameters
    from cnnexp.tensorboard.hparams import flatten, write_hparams

    datamodule = instantiate(cfg.data)
    datamodule.setup("test")
    images, labels = datamodule.splits["test"]
    in_channels = model.preprocess.mean.shape[1]
    if images.shape[1] != in_channels:
        raise ConfigError(f"data={cfg.data.name}: {images.shape[1]}-channel images, but the checkpoint's model "
                          f"takes {in_channels}")
    probs = predict(model, images, cfg.data.eval_batch_size)
    metrics: dict[str, float] = {
        "test/acc": (probs.argmax(-1) == labels).float().mean().item(),
        "test/loss": F.nll_loss(probs.clamp_min(1e-12).log(), labels).item(),
        "params/trainable": count_parameters(model, trainable_only=True),
    }
    out_dir = Path(cfg.paths.output_dir)
    writer = SummaryWriter(str(out_dir / "tb" / cfg.run_name))
    if cfg.invariance.enabled:
        results = run_suite(model, images, labels, config["invariance"])
        write_outputs(results, out_dir)
        log_to_tensorboard(writer, results)
        metrics |= results["summary"]
    write_json(out_dir / "metrics.json", metrics)
    settings = {"ckpt_path": str(ckpt), "data": config["data"], "invariance": config["invariance"]}
    write_hparams(writer, flatten(settings), metrics, new_scalars=list(metrics))
    writer.close()
    return metrics


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="eval")
def _main(cfg: DictConfig) -> Any:
    return run_job("cnnexp-eval", evaluate, cfg)


def main() -> None:
    check_overrides("eval", "cnnexp-eval", sys.argv)
    _main()


if __name__ == "__main__":
    main()
