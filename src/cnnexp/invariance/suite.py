"""The invariance suite: every family's accuracy curve, consistency (zero-fill and circular), quarter
turns, stability, FGSM, feature-map equivariance, the protocol, and a summary."""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from typing import Any

import torch

from cnnexp.classifier import Classifier
from cnnexp.compiled import eager
from cnnexp.invariance import CURVES, FAMILIES, SCHEMA
from cnnexp.invariance.equivariance import equivariance_errors, planned_layers
from cnnexp.invariance.metrics import (
    accuracy_curve,
    agreement,
    confusion_pair,
    fgsm_curve,
    normalized_auc,
    predict,
    shift_consistency,
    shift_stability,
)
from cnnexp.invariance.transforms import TRANSFORMS, quarter_turn, shift, to_canvas

QUARTER_TURNS = (1, 2, 3)
# Each family's setting that leaves the image as it is: its predictions are the untransformed ones, not recomputed.
IDENTITY = {"shift_x": 0, "shift_y": 0, "rotate": 0, "scale": 1}


def identity_is_clean(family: str, cfg: Mapping[str, Any]) -> bool:
    """Whether `family` at its identity feeds the network the untransformed images (a shift on the padded
    input's canvas hands it another tensor, even at 0 px)."""
    return cfg["canvas"] == "image" or family not in ("shift_x", "shift_y")


def grid(spec: Mapping[str, float]) -> list[float]:
    """Values from `start` to `stop` inclusive every `step`, rounded so 0.1 steps stay clean."""
    n = int(round((spec["stop"] - spec["start"]) / spec["step"])) + 1
    return [round(spec["start"] + i * spec["step"], 6) for i in range(n)]


def mover(mode: str, canvas: int):
    """(x, dx, dy) -> x put on the `canvas` (pixels a side), then shifted in `mode`."""
    return lambda x, dx, dy: shift(to_canvas(x, canvas), dx, dy, mode)


def protocol(cfg: Mapping[str, Any], images: int, canvas: int, input_size: int) -> dict[str, Any]:
    """What was measured and how, in words and numbers: written into invariance.json."""
    mode = cfg["shift_mode"]
    return {
        "schema": SCHEMA, "images": images, "seed": cfg["seed"], "shift_mode": mode, "canvas_px": canvas,
        "fill": "background 0" if mode == "zero" else "wrap-around (torch.roll)",
        "curves": "per batch: every image moved by the same setting; shifts in whole pixels on the canvas; "
                  "rotations (counter-clockwise) and scalings bilinear about the centre of the image, zero fill",
        "consistency": f"per image: two shifts drawn uniformly from [-{cfg['consistency_max_shift']}, "
                       f"{cfg['consistency_max_shift']}]^2 in shift_mode on the canvas; split by whether the "
                       "untransformed prediction is correct",
        "circular_consistency": f"the same draws, circular shifts of the {input_size}x{input_size} network input",
        "circular_shifts": f"horizontal circular shifts of the {input_size}x{input_size} network input",
        "quarter_turns": "torch.rot90(image, k) for k = 1, 2, 3 (exact, counter-clockwise)",
    }


def run_suite(model: Classifier, images: torch.Tensor, labels: torch.Tensor, cfg: Mapping[str, Any],
              clean: torch.Tensor | None = None) -> dict:
    """Measure `model` (pixel images in [0, 1] -> logits, eval mode) on `images` as `cfg` asks; `clean`:
    its logits on `images` if already computed (the test's).

    A family (shift_x, shift_y, rotate, scale) set to null, an empty fgsm list, or a measure left out of
    `measures` is not measured.
    """
    start = time.perf_counter()
    if cfg.get("num_images"):
        images, labels = images[: cfg["num_images"]], labels[: cfg["num_images"]]
    bs, input_size = cfg["batch_size"], model.preprocess.size
    canvas = input_size if cfg["canvas"] == "input" else images.shape[-1]
    move = mover(cfg["shift_mode"], canvas)
    clean = predict(model, images, bs, softmax=False) if clean is None else clean[: len(images)]
    correct = clean.argmax(-1) == labels
    results: dict[str, Any] = {"protocol": protocol(cfg, len(labels), canvas, input_size)}
    transforms = TRANSFORMS | {"shift_x": lambda x, v: move(x, v, 0), "shift_y": lambda x, v: move(x, 0, v)}
    families = [f for f in FAMILIES if cfg[f] is not None]
    clean_probs = clean.softmax(-1)
    untransformed = {f: {IDENTITY[f]: clean_probs} for f in families if identity_is_clean(f, cfg)}
    for family in families:
        values = grid(cfg[family])
        accs, probs = accuracy_curve(model, images, labels, transforms[family], values, bs, untransformed.get(family))
        same = [(p.argmax(-1) == clean.argmax(-1)).float().mean().item() for p in probs]
        results[family] = {"values": values, "acc": accs, "agreement": same}
        if family == "shift_x" and len(values) > 1 and cfg[family]["step"] == 1:  # it compares 1-px neighbours
            results["stability"] = shift_stability(probs)
    if cfg["fgsm"]:
        eps = list(cfg["fgsm"])
        accs, losses = fgsm_curve(eager(model), images, labels, eps, bs)  # gradients: the eager network
        results["fgsm"] = {"values": eps, "acc": accs, "loss": losses}
    measures = set(cfg["measures"])
    k = cfg["consistency_max_shift"]
    consistency = functools.partial(shift_consistency, model, images, k, cfg["seed"], bs, correct=correct)
    if "consistency" in measures:
        results["consistency"] = {"max_shift": k, "images": len(labels), **consistency(move=move)}
    circular = mover("circular", input_size)
    if "circular_consistency" in measures:
        same_measure = cfg["shift_mode"] == "circular" and canvas == input_size and "consistency" in results
        results["circular_consistency"] = dict(results["consistency"]) if same_measure else {
            "max_shift": k, "images": len(labels), **consistency(move=circular)}
    compared = ("agreement", "max_logit_change", "changed")
    if "circular_shifts" in measures:
        rolls = [agreement(model, images, clean, lambda x, s=s: circular(x, s, 0), bs) for s in cfg["circular_shifts"]]
        results["circular_shifts"] = {"values": list(cfg["circular_shifts"]),
                                      **{key: [r[key] for r in rolls] for key in compared}}
    if "quarter_turns" in measures:
        turns = [agreement(model, images, clean, lambda x, k=k: quarter_turn(x, k), bs) for k in QUARTER_TURNS]
        results["quarter_turns"] = {
            "k": list(QUARTER_TURNS), "upright_acc": correct.float().mean().item(),
            "acc": [(t["logits"].argmax(-1) == labels).float().mean().item() for t in turns],
            **{key: [t[key] for t in turns] for key in compared},
            "confusion_6_9": {"clean": confusion_pair(labels, clean.argmax(-1)),
                              "half_turn": confusion_pair(labels, turns[1]["logits"].argmax(-1))},
        }
    if "equivariance" in measures:
        device = next(model.parameters()).device
        x_net = model.preprocess(images[: cfg["equivariance_images"]].float().div(255).to(device))
        results["equivariance"] = equivariance_errors(model.net, planned_layers(model.net), x_net,
                                                      cfg["equivariance_shifts"])
    summary = {f"inv/{f}_auc": normalized_auc(results[f]["values"], results[f]["acc"])
               for f in CURVES if f in results}
    summary |= {f"inv/{f}_worst_acc": min(results[f]["acc"]) for f in families}
    for name, key in (("consistency", "inv/shift_consistency"), ("circular_consistency", "inv/circular_consistency")):
        if name in results:
            summary[key] = results[name]["value"]
    if "stability" in results:
        summary["inv/p_top1_change_1px"] = results["stability"]["p_top1_change"]
    if "quarter_turns" in results:
        turned = results["quarter_turns"]
        summary["inv/quarter_turn_acc"] = (turned["acc"][0] + turned["acc"][2]) / 2  # +-90 degrees
        summary["inv/quarter_turn_agreement"] = sum(turned["agreement"]) / len(QUARTER_TURNS)
    summary["inv/suite_s"] = time.perf_counter() - start
    results["summary"] = summary
    return results


def suite_passes(images: int, cfg: Mapping[str, Any]) -> int:
    """How many images the invariance suite `cfg` classifies (all forward passes but FGSM's and the
    feature-map check, which run the eager network)."""
    if not cfg["enabled"]:
        return 0
    n = min(images, cfg["num_images"] or images)
    measures = cfg["measures"]
    per_measure = {"consistency": 2, "circular_consistency": 2, "circular_shifts": len(cfg["circular_shifts"]),
                   "quarter_turns": 3}  # consistency: 2 draws
    settings = 1 + sum(per_measure.get(m, 0) for m in measures)  # the clean pass, then every measure's
    for family in (f for f in FAMILIES if cfg[f] is not None):
        values = grid(cfg[family])
        reused = IDENTITY[family] in values and identity_is_clean(family, cfg)
        settings += len(values) - reused  # the identity's predictions are the clean pass's
    return settings * n
