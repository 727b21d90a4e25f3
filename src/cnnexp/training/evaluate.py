"""The test every training ends with, and cnnexp-eval's job: a checkpoint's classifier on the official
test set, then the invariance suite. One path, so both commands write the same metrics the same way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch.utils.tensorboard import SummaryWriter

from cnnexp.classifier import Classifier
from cnnexp.compiled import for_inference
from cnnexp.errors import ConfigError
from cnnexp.files import write_json
from cnnexp.hparams import settings, task_overrides
from cnnexp.invariance.measures import suite_passes
from cnnexp.invariance.metrics import predict
from cnnexp.invariance.outputs import log_to_tensorboard, write_outputs
from cnnexp.invariance.suite import run_suite
from cnnexp.models.summary import count_parameters
from cnnexp.training.checkpoint import load_trained
from cnnexp.training.tensorboard import log_model, write_hparams


def test_metrics(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """test/acc and test/loss (mean cross-entropy) from a classifier's logits on the test images."""
    return {"test/acc": (logits.argmax(-1) == labels).float().mean().item(),
            "test/loss": F.cross_entropy(logits, labels).item()}


def assess(classifier: Classifier, test: tuple[torch.Tensor, torch.Tensor], config: Mapping[str, Any],
           out_dir: Path, writers: Sequence[SummaryWriter], step: int) -> dict[str, float]:
    """Test `classifier` (eval mode) on the official test split, then run the invariance suite if the
    config asks; write the suite's files and every TensorBoard view; return the metrics."""
    images, labels = test
    passes = len(images) + suite_passes(images.shape, config["invariance"], classifier.preprocess.size)
    fast = for_inference(classifier, passes, config.get("eval_compile", "auto"))  # absent in older checkpoints
    logits = predict(fast, images, config["data"]["eval_batch_size"], softmax=False)
    metrics = test_metrics(logits, labels)
    metrics |= {"params/total": count_parameters(classifier.net),
                "params/trainable": count_parameters(classifier.net, trainable_only=True)}
    # The suite's untransformed predictions are the test's: computed once.
    results = run_suite(fast, images, labels, config["invariance"], logits) if config["invariance"]["enabled"] else None
    figures = bool(results) and config["invariance"]["figures"]
    if results:
        write_outputs(results, out_dir, figures)
        metrics |= results["summary"]
    for writer in writers:
        log_model(writer, classifier, images, step)
        if figures:
            log_to_tensorboard(writer, results, out_dir)
    return metrics


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """cnnexp-eval: `cfg.ckpt_path` on `cfg.data`'s official test split; write metrics.json and TensorBoard."""
    config = OmegaConf.to_container(cfg, resolve=True)
    classifier, trained = load_trained(config["ckpt_path"])  # a bad file is refused before the data loads
    if trained["data"]["name"] != cfg.data.name:
        raise ConfigError(f"data={cfg.data.name}: checkpoint {config['ckpt_path']} was trained on "
                          f"{trained['data']['name']}; test it on data={trained['data']['name']}")
    datamodule = instantiate(cfg.data)
    datamodule.setup("test")
    test = datamodule.splits["test"]
    in_channels = classifier.preprocess.mean.shape[1]
    if test[0].shape[1] != in_channels:
        raise ConfigError(f"data={cfg.data.name}: {test[0].shape[1]}-channel images, but the checkpoint's model "
                          f"takes {in_channels}")
    out_dir = Path(cfg.paths.output_dir)
    writer = SummaryWriter(str(out_dir / "tb" / cfg.run_name))
    metrics = assess(classifier, test, config, out_dir, [writer], step=0)
    write_json(out_dir / "metrics.json", metrics)
    # The trained run's columns, so a test of a checkpoint compares with trainings; ckpt_path is among the overrides.
    write_hparams(writer, settings(trained, task_overrides()), metrics, new_scalars=list(metrics))
    writer.close()
    return metrics
