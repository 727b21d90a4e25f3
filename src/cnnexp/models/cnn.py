"""A configurable conv net for sweeps beyond LeNet: conv -> act -> pool blocks, then a small MLP head
(on the flattened last map, or on its global average)."""

from __future__ import annotations

import torch
from torch import nn

from cnnexp.models.layers import make_activation, make_head_pool, make_pool
from cnnexp.models.specs import cnn_plan


class CNN(nn.Module):
    def __init__(self, in_channels: int = 1, input_size: int = 28, num_classes: int = 10,
                 channels: list[int] = (32, 64), hidden: int = 128, kernel_size: int = 3,
                 stride: int = 1, padding: int = 1, padding_mode: str = "zeros",
                 pooling: str = "max", pool_size: int = 2, pool_stride: int | None = None,
                 activation: str = "relu", head: str = "flatten"):
        super().__init__()
        self.plan = cnn_plan(in_channels, input_size, list(channels), kernel_size, stride, padding,
                             pooling, pool_size, pool_stride)
        blocks: dict[str, nn.Module] = {}
        prev = in_channels
        for i, ch in enumerate(channels, start=1):
            blocks[f"conv{i}"] = nn.Conv2d(prev, ch, kernel_size, stride, padding, padding_mode=padding_mode)
            blocks[f"act{i}"] = make_activation(activation)
            blocks[f"pool{i}"] = make_pool(pooling, ch, pool_size, pool_stride)
            prev = ch
        self.features = nn.Sequential()
        for name, module in blocks.items():
            self.features.add_module(name, module)
        last = self.plan[-1]
        features = last.channels * (last.out_size ** 2 if head == "flatten" else 1)
        self.head = nn.Sequential(make_head_pool(head), nn.Linear(features, hidden),
                                  make_activation(activation), nn.Linear(hidden, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
