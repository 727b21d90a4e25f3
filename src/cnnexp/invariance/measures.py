"""The invariance suite as one table: each entry declares its config key, how it runs, how many classifier
passes it costs, its plot's axis and the keys it adds to metrics.json. The suite, its pass count, the figures'
labels and the metric names validation accepts are all read from SUITE; adding a family is one entry here, a
function in cnnexp.invariance.runs and its grid in conf/invariance/.

Torch-free, so that validation reads it before torch loads: `run` names its function in runs.py as a dotted
path, resolved when the suite runs (as Hydra resolves a config's `_target_`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cnnexp.invariance import QUARTER_TURNS

Results = Mapping[str, Any]


def grid(spec: Mapping[str, float]) -> list[float]:
    """Values from `start` to `stop` inclusive every `step`, rounded so 0.1 steps stay clean."""
    n = int(round((spec["stop"] - spec["start"]) / spec["step"])) + 1
    return [round(spec["start"] + i * spec["step"], 6) for i in range(n)]


def normalized_auc(values: Sequence[float], accs: Sequence[float]) -> float:
    """Area under the accuracy curve (trapezoids) divided by the width of the grid (1.0 = perfect everywhere)."""
    if len(values) < 2:
        return float(accs[0])
    area = math.fsum((a + b) / 2 * (v1 - v0) for v0, v1, a, b in zip(values, values[1:], accs, accs[1:]))
    return area / (values[-1] - values[0])


@dataclass(frozen=True)
class Geometry:
    """Where a suite's shifts happen: whether the canvas the curves and the consistency move is the network
    input itself (canvas=input, or images already at the input's size)."""
    canvas_is_input: bool

    @classmethod
    def of(cls, cfg: Mapping[str, Any], image_px: int, input_px: int) -> Geometry:
        return cls(cfg["canvas"] == "input" or image_px == input_px)


@dataclass(frozen=True)
class Measure:
    key: str  # invariance.<key> in the config
    kind: Literal["grid", "list", "measure"]  # {start, stop, step} or null | a list, [] = off | named in `measures`
    run: str  # (Session) -> {results key: part}: a function of cnnexp.invariance.runs
    # metrics.json key -> its value (None: absent); a key with {layer} gets {layer: value}, one key per layer
    summary: Mapping[str, Callable[[Results], float | dict[str, float] | None]]
    cost: Callable[[Mapping[str, Any], Geometry], int] = lambda cfg, geometry: 0  # passes over every image
    label: str | None = None  # a curve's x-axis (plotted against accuracy); None: not a curve
    identity: float | None = None  # a family's setting that leaves the image as it is
    moves_canvas: bool = False  # a shift of the canvas: on the padded input even 0 px hands the net another tensor

    def enabled(self, cfg: Mapping[str, Any]) -> bool:
        if self.kind == "measure":
            return self.key in cfg["measures"]
        return cfg[self.key] is not None if self.kind == "grid" else bool(cfg[self.key])

    def reuses_identity(self, cfg: Mapping[str, Any]) -> bool:
        """Whether its identity setting feeds the net the untransformed images (the clean pass's predictions)."""
        return self.identity is not None and (cfg["canvas"] == "image" or not self.moves_canvas)

    def passes(self, cfg: Mapping[str, Any], geometry: Geometry) -> int:
        """Passes of the classifier over every image: a family's settings less a reused identity."""
        if self.kind != "grid":
            return self.cost(cfg, geometry)
        values = grid(cfg[self.key])
        return len(values) - (self.reuses_identity(cfg) and self.identity in values)


def shares_consistency(cfg: Mapping[str, Any], geometry: Geometry) -> bool:
    """Whether circular consistency is the consistency measure itself (circular shifts of the network input)."""
    return cfg["shift_mode"] == "circular" and geometry.canvas_is_input and "consistency" in cfg["measures"]


def family(key: str, label: str, identity: float, **extra: Any) -> Measure:
    """A transform family: test accuracy over its grid of settings, its area and its worst point."""
    summary = {f"inv/{key}_auc": lambda r: normalized_auc(r[key]["values"], r[key]["acc"]),
               f"inv/{key}_worst_acc": lambda r: min(r[key]["acc"])}
    return Measure(key, "grid", f"cnnexp.invariance.runs.{key}", summary | extra.pop("summary", {}), label=label,
                   identity=identity, **extra)


def _per_layer(r: Results, kind: str, transform: str) -> dict[str, float] | None:
    """{layer: distance} of the layer profile, where it is defined (None: the profile has no such transform)."""
    values = r["layers"][kind].get(transform)
    return None if values is None else {n: v for n, v in zip(r["layers"]["layers"], values) if v is not None}


def _stability(r: Results) -> float | None:
    return r["stability"]["p_top1_change"] if "stability" in r else None


SUITE: tuple[Measure, ...] = (
    family("shift_x", "horizontal shift (px, + = right)", 0, moves_canvas=True,
           summary={"inv/p_top1_change_1px": _stability}),  # stability: the curve's 1-px neighbours (step 1)
    family("shift_y", "vertical shift (px, + = down)", 0, moves_canvas=True),
    family("rotate", "rotation (degrees, counter-clockwise)", 0),
    family("scale", "scale factor", 1),
    Measure("fgsm", "list", "cnnexp.invariance.runs.fgsm",  # gradients: the eager network, not counted
            {"inv/fgsm_auc": lambda r: normalized_auc(r["fgsm"]["values"], r["fgsm"]["acc"])},
            label="FGSM epsilon (pixel space)"),
    Measure("consistency", "measure", "cnnexp.invariance.runs.consistency",
            {"inv/shift_consistency": lambda r: r["consistency"]["value"]}, lambda cfg, geometry: 2),  # 2 draws
    Measure("circular_consistency", "measure", "cnnexp.invariance.runs.circular_consistency",
            {"inv/circular_consistency": lambda r: r["circular_consistency"]["value"]},
            lambda cfg, geometry: 0 if shares_consistency(cfg, geometry) else 2),
    Measure("circular_shifts", "measure", "cnnexp.invariance.runs.circular_shifts", {},
            lambda cfg, geometry: len(cfg["circular_shifts"])),
    Measure("quarter_turns", "measure", "cnnexp.invariance.runs.quarter_turns", {
        "inv/quarter_turn_acc": lambda r: (r["quarter_turns"]["acc"][0] + r["quarter_turns"]["acc"][2]) / 2,  # +-90
        "inv/quarter_turn_agreement": lambda r: sum(r["quarter_turns"]["agreement"]) / len(QUARTER_TURNS)},
        lambda cfg, geometry: len(QUARTER_TURNS)),
    Measure("equivariance", "measure", "cnnexp.invariance.runs.equivariance", {}),  # the eager net's feature maps
    Measure("layers", "measure", "cnnexp.invariance.runs.layers", {  # the eager net's layers, by forward hooks
        "inv/layer/{layer}/shift1_invariance": lambda r: _per_layer(r, "invariance", "shift 1 px zero"),
        "inv/layer/{layer}/shift1_equivariance": lambda r: _per_layer(r, "equivariance", "shift 1 px zero")}),
)

FAMILIES = tuple(m.key for m in SUITE if m.kind == "grid")
CURVES = tuple(m.key for m in SUITE if m.label)
MEASURES = tuple(m.key for m in SUITE if m.kind == "measure")
LABELS = {m.key: m.label for m in SUITE if m.label}
# The keys the suite adds to metrics.json (measured on official test images: they report, never select).
SUMMARY_METRICS = (*(k for m in SUITE for k in m.summary), "inv/suite_s")


def suite_passes(images: Sequence[int], cfg: Mapping[str, Any], input_px: int) -> int:
    """How many images the invariance suite `cfg` classifies, given the test images' shape (N, C, H, W) and the
    network input's side: the clean pass, then every measure's (FGSM's and the feature-map check run the eager
    network and are not counted)."""
    if not cfg["enabled"]:
        return 0
    n = min(images[0], cfg["num_images"] or images[0])
    geometry = Geometry.of(cfg, images[-1], input_px)
    return n * (1 + sum(m.passes(cfg, geometry) for m in SUITE if m.enabled(cfg)))
