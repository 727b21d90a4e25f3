"""Feature-map equivariance under circular shifts: ||f(Tx) - T'f(x)|| / ||f(x)||.

T rolls the network's input (after padding and normalization) by s pixels horizontally; T' rolls
a layer's output by s / (the layer's total stride), reported only where that is a whole number.
A circular-padded, stride-1 convolution gives 0; zero padding, borders and subsampling do not.
From an APS stage on (adaptive polyphase sampling), the output is the reference shifted by a whole
number of pixels that APS chose per image: T' is then the best such roll, for every s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from cnnexp.models.summary import planned_modules


def _best_roll_error(out: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Squared error to the closest horizontal roll of `reference`, per image, summed over images."""
    per_roll = torch.stack([(out - torch.roll(reference, t, dims=-1)).flatten(1).pow(2).sum(1)
                            for t in range(reference.shape[-1])])
    return per_roll.min(dim=0).values.sum()


@torch.inference_mode()
def equivariance_errors(forward: Callable[[torch.Tensor], torch.Tensor],
                        layers: Mapping[str, tuple[nn.Module, int, bool]],
                        x: torch.Tensor, shifts: Sequence[int] = (1, 2)) -> dict[str, dict[str, float | None]]:
    """{layer: {"shift_1": error or None, ...}} for `layers` = {name: (module, total stride, after APS)}."""
    outputs: dict[str, torch.Tensor] = {}

    def keep(name: str):
        def hook(_m, _i, out) -> None:
            outputs[name] = out
        return hook

    hooks = [module.register_forward_hook(keep(name)) for name, (module, _, _) in layers.items()]
    try:
        forward(x)
        reference = dict(outputs)
        errors: dict[str, dict[str, float | None]] = {name: {} for name in layers}
        for s in shifts:
            forward(torch.roll(x, s, dims=-1))
            for name, (_, stride, adaptive) in layers.items():
                ref, norm = reference[name], reference[name].norm().clamp_min(1e-12)
                if adaptive:
                    err = _best_roll_error(outputs[name], ref).sqrt() / norm
                elif s % stride:
                    errors[name][f"shift_{s}"] = None
                    continue
                else:
                    err = (outputs[name] - torch.roll(ref, s // stride, dims=-1)).norm() / norm
                errors[name][f"shift_{s}"] = err.item()
    finally:
        for h in hooks:
            h.remove()
    return errors


def planned_layers(net: nn.Module) -> dict[str, tuple[nn.Module, int, bool]]:
    """The conv/pool layers of a network's shape plan, with their total strides and whether an APS
    stage (plan kind "aps") comes at or before them."""
    layers, adaptive = {}, False
    for name, (module, shape) in planned_modules(net).items():
        adaptive = adaptive or shape.kind == "aps"
        layers[name] = (module, shape.jump, adaptive)
    return layers
