"""LeNet-5 as the lecture draws it, with sweepable kernel, stride, padding and pooling.

Defaults give 32x32 -> C1 6@28x28 -> S2 6@14x14 -> C3 16@10x10 -> S4 16@5x5 -> C5 120@1x1
-> F6 84 -> 10, with 61,706 trainable parameters. `head="gap"` makes C5 a conv like C1 and C3 and
averages its map; with circular "same" convs and APS pooling (conf/model/lenet5_aps.yaml) the net is
exactly invariant to circular shifts, with the same 61,706 parameters.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnexp.models.layers import make_activation, make_head_pool, make_pool
from cnnexp.models.specs import lenet5_plan


class LeNet5(nn.Module):
    def __init__(self, in_channels: int = 1, input_size: int = 32, num_classes: int = 10,
                 kernel_size: int = 5, stride: int = 1, padding: int = 0,
                 padding_mode: str = "zeros", pooling: str = "max", pool_size: int = 2,
                 pool_stride: int | None = None, activation: str = "relu", head: str = "flatten"):
        super().__init__()
        self.plan = lenet5_plan(in_channels, input_size, kernel_size, stride, padding,
                                pooling, pool_size, pool_stride, head)
        c5 = self.plan[-1]
        conv = dict(kernel_size=kernel_size, stride=stride, padding=padding, padding_mode=padding_mode)
        self.c1 = nn.Conv2d(in_channels, 6, **conv)
        self.s2 = make_pool(pooling, 6, pool_size, pool_stride)
        self.c3 = nn.Conv2d(6, 16, **conv)
        self.s4 = make_pool(pooling, 16, pool_size, pool_stride)
        self.c5 = nn.Conv2d(16, 120, c5.kernel, c5.stride, c5.padding, padding_mode=padding_mode)
        self.head = make_head_pool(head)
        self.f6 = nn.Linear(120, 84)
        self.output = nn.Linear(84, num_classes)
        self.act = make_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.s2(self.act(self.c1(x)))
        x = self.s4(self.act(self.c3(x)))
        x = self.head(self.act(self.c5(x)))
        return self.output(self.act(self.f6(x)))
