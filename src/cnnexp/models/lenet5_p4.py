"""LeNet-5's geometry with p4 group convolutions: exactly invariant to quarter turns of the input.

32x32 -> C1 lifting 3x4@28x28 -> S2 @14x14 -> C3 8x4@10x10 -> S4 @5x5 -> C5 66x4@1x1 -> pool over
the 4 rotations -> F6 84 -> 10: 61,830 trainable parameters with channels (3, 8, 66), about
LeNet-5's 61,706. `rotation_pool=none` keeps the 4 rotations (equivariant features, a head that is not
invariant). The spec refuses sampling grids that are not centre-symmetric, which would break it.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnexp.models.layers import make_activation, make_pool
from cnnexp.models.p4 import ROTATIONS, P4Conv, PerPlane
from cnnexp.models.specs import lenet5_plan


class LeNet5P4(nn.Module):
    def __init__(self, in_channels: int = 1, input_size: int = 32, num_classes: int = 10,
                 channels: list[int] = (3, 8, 66), kernel_size: int = 5, stride: int = 1, padding: int = 0,
                 padding_mode: str = "zeros", pooling: str = "max", pool_size: int = 2,
                 pool_stride: int | None = None, rotation_pool: str = "max", activation: str = "relu"):
        super().__init__()
        c1, c3, c5 = channels
        self.plan = lenet5_plan(in_channels, input_size, kernel_size, stride, padding, pooling, pool_size,
                                pool_stride, channels=(c1, c3, c5))
        conv = dict(kernel_size=kernel_size, stride=stride, padding=padding, padding_mode=padding_mode)
        self.c1 = P4Conv(in_channels, c1, lifting=True, **conv)
        self.s2 = PerPlane(make_pool(pooling, c1 * ROTATIONS, pool_size, pool_stride))
        self.c3 = P4Conv(c1, c3, **conv)
        self.s4 = PerPlane(make_pool(pooling, c3 * ROTATIONS, pool_size, pool_stride))
        self.c5 = P4Conv(c3, c5, self.plan[-1].kernel)
        self.rotation_pool = rotation_pool
        self.f6 = nn.Linear(c5 * (ROTATIONS if rotation_pool == "none" else 1), 84)
        self.output = nn.Linear(84, num_classes)
        self.act = make_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.s2(self.act(self.c1(x)))
        x = self.s4(self.act(self.c3(x)))
        x = self.act(self.c5(x)).flatten(3).amax(-1)  # (N, C5, 4): C5's map is 1x1
        if self.rotation_pool == "max":
            x = x.amax(-1)
        elif self.rotation_pool == "mean":
            x = x.mean(-1)
        else:
            x = x.flatten(1)
        return self.output(self.act(self.f6(x)))
