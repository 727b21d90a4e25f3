"""Activation functions selectable by name (`model.activation`)."""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS = ("relu", "tanh", "scaled_tanh")


class ScaledTanh(nn.Module):
    """LeCun et al. (1998): f(a) = 1.7159 tanh(2a/3), so that f(+-1) = +-1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1.7159 * torch.tanh(x * (2.0 / 3.0))


def make_activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name == "tanh":
        return nn.Tanh()
    if name == "scaled_tanh":
        return ScaledTanh()
    raise ValueError(f"activation {name!r} is not one of {', '.join(ACTIVATIONS)}")
