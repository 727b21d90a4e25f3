"""Fully-connected baseline (LeCun's 784-300-10 with `hidden=[300]`)."""

from __future__ import annotations

import torch
from torch import nn

from cnnexp.models.layers import make_activation


class MLP(nn.Module):
    def __init__(self, in_channels: int = 1, input_size: int = 28, num_classes: int = 10,
                 hidden: list[int] = (300,), activation: str = "relu"):
        super().__init__()
        widths = [in_channels * input_size * input_size, *hidden]
        layers: list[nn.Module] = [nn.Flatten()]
        for w_in, w_out in zip(widths, widths[1:]):
            layers += [nn.Linear(w_in, w_out), make_activation(activation)]
        layers.append(nn.Linear(widths[-1], num_classes))
        self.layers = nn.Sequential(*layers)
        self.plan = []  # no spatial layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
