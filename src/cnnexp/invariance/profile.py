"""Where in a network invariance comes from: every named layer's change under a small grid of transforms.

For each layer f and transform T, over images x (Lenc & Vedaldi 2015; Kauderer-Abrams 2017):
  invariance    ||f(Tx) - f(x)|| / ||f(x)||, the mean over images (0: the layer ignores T);
  equivariance  ||f(Tx) - T'f(x)|| / ||f(x)||, with T' the same move at the layer's resolution (0: the layer
                moves with its input). For a shift of d px at a layer of total stride s, T' rolls the map by
                d/s; where that is not whole, by the better of the two whole moves around it, per image (an APS
                stage picks its own). A roll, for zero-fill shifts too: the columns a move vacates then hold the
                map's own border (a map's background is its bias's response, not 0). For a quarter turn T'
                turns the map, and rolls p4's four planes (the best roll). Rotations by other angles and
                scalings have no such T': invariance only.
Each layer's output is taken as its module returns it (a convolution before its activation), by forward hooks
on the eager network, one forward pass per transform; the transforms move the network's input canvas (the
padded image) in pixel space, so that a circular shift is one of the network input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from cnnexp.classifier import Classifier
from cnnexp.invariance.metrics import pixels
from cnnexp.invariance.transforms import quarter_turn, rotate, scale, shift, to_canvas
from cnnexp.models.layers import GlobalAvgPool
from cnnexp.models.summary import planned_modules

Features = dict[str, torch.Tensor]


IN = ".in"  # a subsampling layer's input (after the activation before it): what the subsampling itself changes


def profiled_layers(net: nn.Module) -> dict[str, int | None]:
    """Every named layer the profile reads: {name: total stride of its map, or None for a layer with no map
    (fully connected, global pooling, the output)}, in definition order; a subsampling layer's input (pooling, APS,
    a stride-2 convolution) comes before it as `<name>.in`."""
    plan = {name: shape for name, (_, shape) in planned_modules(net).items()}
    layers: dict[str, int | None] = {}
    for name, m in net.named_modules():
        last = name.rsplit(".", 1)[-1]
        shape = plan.get(last)
        if shape is not None and shape.stride > 1:
            layers[name + IN] = shape.jump // shape.stride
        if name and (shape is not None or last == "output" or isinstance(m, nn.Linear | GlobalAvgPool)):
            layers[name] = shape.jump if shape is not None else None
    return layers


def transforms(cfg: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The profile's grid: shifts (zero fill and circular), rotations, scalings, each named for the results."""
    grid = [{"name": f"shift {d} px {mode}", "family": f"shift_{mode}", "size": d, "mode": mode}
            for mode in ("zero", "circular") for d in cfg["shifts"]]
    grid += [{"name": f"rotate {a} deg", "family": "rotate", "size": a} for a in cfg["rotations"]]
    return grid + [{"name": f"scale {f}", "family": "scale", "size": f} for f in cfg["scales"]]


def _apply(x: torch.Tensor, t: Mapping[str, Any]) -> torch.Tensor:
    if t["family"] == "rotate":
        return quarter_turn(x, int(t["size"]) // 90) if t["size"] % 90 == 0 else rotate(x, t["size"])
    if t["family"] == "scale":
        return scale(x, t["size"])
    return shift(x, t["size"], 0, t["mode"])


def _features(net: nn.Module, layers: Sequence[str], x: torch.Tensor) -> Features:
    out: Features = {}

    def keep(name: str):
        def hook(_module, inputs, output) -> None:  # must return None: a value would replace the output
            if name + IN in layers:
                out[name + IN] = inputs[0]
            out[name] = output
        return hook

    modules = dict(net.named_modules())
    hooks = [modules[n].register_forward_hook(keep(n)) for n in layers if not n.endswith(IN)]
    try:
        net(x)
    finally:
        for h in hooks:
            h.remove()
    return out


def _norm(y: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(y.flatten(1), dim=1)


def _rolled_distance(y: torch.Tensor, ref: torch.Tensor, m: int) -> torch.Tensor:
    """Per image ||y - roll(ref, m)|| along the last axis, without building the rolled map (the profile's cost
    is mostly these distances)."""
    w = ref.shape[-1]
    m %= w
    head = _norm(y[..., m:] - ref[..., : w - m])
    return torch.hypot(head, _norm(y[..., :m] - ref[..., w - m:])) if m else head


def _equivariance(y: torch.Tensor, ref: torch.Tensor, unmoved: torch.Tensor, t: Mapping[str, Any],
                  stride: int | None) -> torch.Tensor | None:
    """Per image ||y - T'ref||, the best candidate T' (None where T has none at this layer); `unmoved`:
    ||y - ref||, the distance of the move by 0."""
    if stride is None or ref.dim() < 4:
        return None
    if t["family"].startswith("shift"):  # p4's planes are channels to a shift: the roll's axis is the last
        moves = {t["size"] // stride, -(-t["size"] // stride)}
        return torch.stack([unmoved if m == 0 else _rolled_distance(y, ref, m) for m in sorted(moves)]).amin(0)
    if t["family"] == "rotate" and t["size"] % 90 == 0:
        turned = quarter_turn(ref, int(t["size"]) // 90)
        planes = [turned] if ref.dim() == 4 else [torch.roll(turned, r, dims=2) for r in range(turned.shape[2])]
        return torch.stack([_norm(y - p) for p in planes]).amin(0)
    return None


def _distances(moved: Features, clean: Features, norms: Features, t: Mapping[str, Any],
               strides: Mapping[str, int | None]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Per layer, per image: the invariance distance, and the equivariance distance where T' exists."""
    inv, equi = {}, {}
    for name, ref in clean.items():
        unmoved = _norm(moved[name] - ref)
        inv[name] = unmoved / norms[name]
        d = _equivariance(moved[name], ref, unmoved, t, strides[name])
        if d is not None:
            equi[name] = d / norms[name]
    return inv, equi


@torch.inference_mode()
def layer_profile(model: Classifier, images: torch.Tensor, cfg: Mapping[str, Any], batch_size: int = 500) -> dict:
    """The profile of `model` (eager, eval mode) on `images` (uint8 or [0, 1]) for the grid `cfg` (images, shifts,
    rotations, scales): {"layers", "strides", "transforms", "invariance", "equivariance", "images"}, each
    distance a list over the layers (None where undefined)."""
    net, device = model.net, next(model.parameters()).device
    strides = profiled_layers(net)
    grid = transforms(cfg)
    images = images[: cfg["images"]]
    sums = {(kind, t["name"]): {} for t in grid for kind in ("invariance", "equivariance")}
    counts = {key: {} for key in sums}
    order: list[str] = []
    for start in range(0, len(images), batch_size):
        x = to_canvas(pixels(images[start:start + batch_size].to(device)), model.preprocess.size)
        clean = _features(net, list(strides), model.preprocess(x))
        order = order or list(clean)  # forward order: the order the hooks fired
        # A dead map (all zero) has no relative change.
        norms = {name: torch.where((n := _norm(y)) > 0, n, torch.nan) for name, y in clean.items()}
        zero_shifted: dict[int, tuple[torch.Tensor, tuple]] = {}
        for t in grid:
            x_t = _apply(x, t)
            same = zero_shifted.get(t["size"]) if t["family"] == "shift_circular" else None
            if same is not None and torch.equal(same[0], x_t):
                # Nothing crossed the border: the zero-fill shift's input, and T' rolls the map for both.
                distances = same[1]
            else:
                distances = _distances(_features(net, list(strides), model.preprocess(x_t)), clean, norms, t, strides)
            if t["family"] == "shift_zero":
                zero_shifted[t["size"]] = (x_t, distances)
            for kind, per_layer in zip(("invariance", "equivariance"), distances):
                for name, d in per_layer.items():
                    seen = ~d.isnan()
                    sums[kind, t["name"]][name] = sums[kind, t["name"]].get(name, 0.0) + d[seen].sum().item()
                    counts[kind, t["name"]][name] = counts[kind, t["name"]].get(name, 0) + int(seen.sum())

    def mean(kind: str, t: str, name: str) -> float | None:
        n = counts[kind, t].get(name, 0)
        return sums[kind, t][name] / n if n else None

    return {"layers": order, "strides": [strides[n] for n in order], "images": len(images),
            "transforms": grid,
            **{kind: {t["name"]: [mean(kind, t["name"], n) for n in order] for t in grid}
               for kind in ("invariance", "equivariance")}}
