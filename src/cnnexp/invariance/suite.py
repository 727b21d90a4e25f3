"""The invariance suite: every family's accuracy curve, consistency, stability, FGSM, a summary."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import torch

from cnnexp.classifier import Classifier
from cnnexp.invariance import CURVES, FAMILIES
from cnnexp.invariance.equivariance import equivariance_errors, planned_layers
from cnnexp.invariance.metrics import accuracy_curve, fgsm_curve, normalized_auc, shift_consistency, shift_stability
from cnnexp.invariance.transforms import TRANSFORMS


def grid(spec: Mapping[str, float]) -> list[float]:
    """Values from `start` to `stop` inclusive every `step`, rounded so 0.1 steps stay clean."""
    n = int(round((spec["stop"] - spec["start"]) / spec["step"])) + 1
    return [round(spec["start"] + i * spec["step"], 6) for i in range(n)]


def run_suite(model: Classifier, images: torch.Tensor, labels: torch.Tensor, cfg: Mapping[str, Any]) -> dict:
    """Measure `model` (pixel images in [0, 1] -> logits, eval mode) on `images` as `cfg` asks."""
    start = time.perf_counter()
    if cfg.get("num_images"):
        images, labels = images[: cfg["num_images"]], labels[: cfg["num_images"]]
    bs = cfg["batch_size"]
    results: dict[str, Any] = {}
    for family, transform in TRANSFORMS.items():
        values = grid(cfg[family])
        accs, probs = accuracy_curve(model, images, labels, transform, values, bs)
        results[family] = {"values": values, "acc": accs}
        if family == "shift_x":
            results["stability"] = shift_stability(probs)
    eps = list(cfg["fgsm"])
    accs, losses = fgsm_curve(model, images, labels, eps, bs)
    results["fgsm"] = {"values": eps, "acc": accs, "loss": losses}
    k = cfg["consistency_max_shift"]
    results["consistency"] = {"max_shift": k, "images": len(labels),
                              "value": shift_consistency(model, images, k, cfg["seed"], bs)}
    x_net = model.preprocess(images[: cfg["equivariance_images"]].float().div(255).to(next(model.parameters()).device))
    results["equivariance"] = equivariance_errors(model.net, planned_layers(model.net), x_net,
                                                  cfg["equivariance_shifts"])
    summary = {f"inv/{f}_auc": normalized_auc(results[f]["values"], results[f]["acc"])
               for f in CURVES}
    summary |= {f"inv/{f}_worst_acc": min(results[f]["acc"]) for f in FAMILIES}
    summary["inv/shift_consistency"] = results["consistency"]["value"]
    summary["inv/p_top1_change_1px"] = results["stability"]["p_top1_change"]
    summary["inv/suite_s"] = time.perf_counter() - start
    results["summary"] = summary
    return results
