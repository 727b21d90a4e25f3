"""Feature-map equivariance under circular shifts: ||f(Tx) - T'f(x)|| / ||f(x)||.

T rolls the network's input (after padding and normalization) by s pixels horizontally; T' rolls
a layer's output by s / (the layer's total stride), reported only where that is a whole number.
A circular-padded, stride-1 convolution gives 0; zero padding, borders and subsampling do not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from cnnexp.models.summary import planned_modules


@torch.inference_mode()
def equivariance_errors(forward: Callable[[torch.Tensor], torch.Tensor], layers: Mapping[str, tuple[nn.Module, int]],
                        x: torch.Tensor, shifts: Sequence[int] = (1, 2)) -> dict[str, dict[str, float | None]]:
    """{layer: {"shift_1": error or None, ...}} for `layers` = {name: (module, total stride)}."""
    outputs: dict[str, torch.Tensor] = {}

    def keep(name: str):
        def hook(_m, _i, out) -> None:
            outputs[name] = out
        return hook

    hooks = [module.register_forward_hook(keep(name)) for name, (module, _) in layers.items()]
    try:
        forward(x)
        reference = dict(outputs)
        errors: dict[str, dict[str, float | None]] = {name: {} for name in layers}
        for s in shifts:
            forward(torch.roll(x, s, dims=-1))
            for name, (_, stride) in layers.items():
                if s % stride:
                    errors[name][f"shift_{s}"] = None
                    continue
                expected = torch.roll(reference[name], s // stride, dims=-1)
                err = (outputs[name] - expected).norm() / reference[name].norm().clamp_min(1e-12)
                errors[name][f"shift_{s}"] = err.item()
    finally:
        for h in hooks:
            h.remove()
    return errors


def planned_layers(net: nn.Module) -> dict[str, tuple[nn.Module, int]]:
    """The conv/pool layers of a network's shape plan, with their total strides."""
    return {name: (module, shape.jump) for name, (module, shape) in planned_modules(net).items()}
