"""The invariance suite: every entry of its table (cnnexp.invariance.measures.SUITE) that the config turns on,
run in the table's order on one Session, then the protocol and the summary for metrics.json."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import torch
from hydra.utils import get_method

from cnnexp.classifier import Classifier
from cnnexp.invariance import SCHEMA
from cnnexp.invariance.measures import SUITE, Geometry, grid, shares_consistency
from cnnexp.invariance.metrics import predict
from cnnexp.invariance.runs import Session
from cnnexp.invariance.transforms import mover


def protocol(cfg: Mapping[str, Any], images: int, canvas: int, input_size: int) -> dict[str, Any]:
    """What was measured and how, in words and numbers: written into invariance.json."""
    mode = cfg["shift_mode"]
    return {
        "schema": SCHEMA, "images": images, "seed": cfg["seed"], "shift_mode": mode, "canvas_px": canvas,
        # The widest 95% normal interval of an accuracy measured on `images` images (at 50%): 1.96 * sqrt(0.25 / n).
        "accuracy_95_halfwidth_pp": round(98 / math.sqrt(images), 2) if images else None,
        "fill": "background 0" if mode == "zero" else "wrap-around (torch.roll)",
        "curves": "per batch: every image moved by the same setting; shifts in whole pixels on the canvas; "
                  "rotations (counter-clockwise) and scalings bilinear about the centre of the image, zero fill",
        "consistency": f"per image: two shifts drawn uniformly from [-{cfg['consistency_max_shift']}, "
                       f"{cfg['consistency_max_shift']}]^2 in shift_mode on the canvas; split by whether the "
                       "untransformed prediction is correct",
        "circular_consistency": f"the same draws, circular shifts of the {input_size}x{input_size} network input",
        "circular_shifts": f"horizontal circular shifts of the {input_size}x{input_size} network input",
        "quarter_turns": "torch.rot90(image, k) for k = 1, 2, 3 (exact, counter-clockwise)",
        "layers": "every named layer's invariance ||f(Tx) - f(x)|| / ||f(x)|| and equivariance ||f(Tx) - T'f(x)|| / "
                  "||f(x)|| (T' the move at the layer's resolution), mean over the first layers.images images, for "
                  "each transform of layers.transforms applied to the network's input canvas",
    }


def run_suite(model: Classifier, images: torch.Tensor, labels: torch.Tensor, cfg: Mapping[str, Any],
              clean: torch.Tensor | None = None) -> dict:
    """Measure `model` (pixel images in [0, 1] -> logits, eval mode) on `images` as `cfg` asks; `clean`:
    its logits on `images` if already computed (the test's).

    A family (shift_x, shift_y, rotate, scale) set to null, an empty fgsm list, or a measure left out of
    `measures` is not measured, and its keys are absent.
    """
    start = time.perf_counter()
    if cfg.get("num_images"):
        images, labels = images[: cfg["num_images"]], labels[: cfg["num_images"]]
    input_size = model.preprocess.size
    canvas = input_size if cfg["canvas"] == "input" else images.shape[-1]
    clean = predict(model, images, cfg["batch_size"], softmax=False) if clean is None else clean[: len(images)]
    measured = [m for m in SUITE if m.enabled(cfg)]
    probs = clean.softmax(-1)
    results: dict[str, Any] = {"protocol": protocol(cfg, len(labels), canvas, input_size)}
    session = Session(
        model, images, labels, cfg, clean, mover(cfg["shift_mode"], canvas), mover("circular", input_size),
        grids={m.key: grid(cfg[m.key]) for m in measured if m.kind == "grid"},
        known={m.key: {m.identity: probs} for m in measured if m.reuses_identity(cfg)},
        shares_consistency=shares_consistency(cfg, Geometry.of(cfg, images.shape[-1], input_size)), results=results)
    for m in measured:
        results |= get_method(m.run)(session)
    summary = {}
    for m in measured:
        for key, get in m.summary.items():
            value = get(results)
            if isinstance(value, dict):  # one value per layer
                summary |= {key.format(layer=name): v for name, v in value.items()}
            elif value is not None:
                summary[key] = value
    results["summary"] = summary | {"inv/suite_s": time.perf_counter() - start}
    return results
