"""p4 group convolutions (Cohen & Welling 2016): equivariant to the four quarter turns, from the paper.

A p4 feature map is (N, C, 4, H, W): one plane per rotation r of the filters. Turning the input a
quarter turn turns every plane and moves plane r to r + 1, so pooling over the 4 planes at the end
gives features that do not change at all. Each layer is one ordinary conv with the 4 rotated (and,
between p4 maps, cyclically permuted) copies of its filter stacked as output channels.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

ROTATIONS = 4


def _init(weight: torch.Tensor, bias: torch.Tensor, fan_in: int) -> None:
    # PyTorch's Conv2d default (kaiming_uniform with a = sqrt(5)), with the fan-in a p4 filter really has.
    bound = 1 / math.sqrt(fan_in)
    nn.init.uniform_(weight, -math.sqrt(3) * bound, math.sqrt(3) * bound)
    nn.init.uniform_(bias, -bound, bound)


class P4Conv(nn.Module):
    """Lifting (Z2 -> p4, `lifting=True`: input (N, C, H, W)) or group (p4 -> p4: input (N, C, 4, H, W))
    correlation; output (N, out_channels, 4, H', W'). One bias per output channel, shared by its
    rotations, so that the bias too commutes with turning."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 padding_mode: str = "zeros", lifting: bool = False):
        super().__init__()
        self.lifting, self.out_channels = lifting, out_channels
        group = () if lifting else (ROTATIONS,)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, *group, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels))
        _init(self.weight, self.bias, self.weight[0].numel())
        self.stride, self.padding = stride, padding
        self.padding_mode = "constant" if padding_mode == "zeros" else padding_mode

    def filters(self) -> torch.Tensor:
        """The (out * 4, in [* 4], k, k) stack: for output rotation r, the filter turned r times; between
        p4 maps also its input planes rolled by r (plane s of output r reads W[s - r])."""
        turned = []
        for r in range(ROTATIONS):
            w = self.weight if self.lifting else torch.roll(self.weight, r, dims=2)
            turned.append(torch.rot90(w, r, dims=(-2, -1)))
        w = torch.stack(turned, dim=1)  # (out, 4, in, [4,] k, k)
        return w.reshape(self.out_channels * ROTATIONS, -1, *w.shape[-2:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.lifting:
            x = x.flatten(1, 2)  # (N, C * 4, H, W): plane s of channel c is input channel 4c + s
        if self.padding:
            x = F.pad(x, (self.padding,) * 4, mode=self.padding_mode)
        y = F.conv2d(x, self.filters(), self.bias.repeat_interleave(ROTATIONS), self.stride)
        return y.view(y.shape[0], self.out_channels, ROTATIONS, *y.shape[-2:])


class PerPlane(nn.Module):
    """Apply a per-channel spatial module (pooling, blur) to every rotation plane of a p4 map."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.module(x.flatten(1, 2))
        return y.view(*x.shape[:3], *y.shape[-2:])
