"""Fully-connected baseline (LeCun's 784-300-10 with `hidden=[300]`)."""

from __future__ import annotations

import re

import torch
from torch import nn

from cnnexp.models.layers import make_activation


class MLP(nn.Module):
    """Flatten, then `fc1`, `act1`, `fc2`, ..., `output`: the names the layer table and TensorBoard show."""

    def __init__(self, in_channels: int = 1, input_size: int = 28, num_classes: int = 10,
                 hidden: list[int] = (300,), activation: str = "relu"):
        super().__init__()
        widths = [in_channels * input_size * input_size, *hidden]
        self.flatten = nn.Flatten()
        for i, (w_in, w_out) in enumerate(zip(widths, widths[1:]), start=1):
            self.add_module(f"fc{i}", nn.Linear(w_in, w_out))
            self.add_module(f"act{i}", make_activation(activation))
        self.output = nn.Linear(widths[-1], num_classes)
        self.plan = []  # no spatial layers
        self._register_load_state_dict_pre_hook(self._renamed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.children():
            x = layer(x)
        return x

    def _renamed(self, state_dict: dict, prefix: str, *args) -> None:
        """Checkpoints written when the layers were `layers.0`, `layers.1`, ... still load."""
        names = list(self._modules)
        for key in [k for k in state_dict if re.match(rf"{re.escape(prefix)}layers\.\d+\.", k)]:
            index, rest = key[len(prefix) + len("layers."):].split(".", 1)
            state_dict[f"{prefix}{names[int(index)]}.{rest}"] = state_dict.pop(key)
