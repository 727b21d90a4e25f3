"""The layers a model config selects by name: activations (`model.activation`) and pooling
(`model.pooling`: max, avg, lp, blur, none)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cnnexp.models.specs import ACTIVATIONS, BLUR_TAPS, POOLINGS


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


class Blur2d(nn.Module):
    """Depthwise binomial low-pass filter that subsamples by `stride` (Zhang 2019).

    Blurring before subsampling removes the aliasing that makes strided pooling
    shift-variant. The filter is fixed, so it adds no trainable parameters.
    """

    def __init__(self, channels: int, stride: int = 2):
        super().__init__()
        taps = torch.tensor([1.0, 2.0, 1.0])
        assert len(taps) == BLUR_TAPS
        kernel = torch.outer(taps, taps)
        self.register_buffer("kernel", (kernel / kernel.sum()).expand(channels, 1, -1, -1).clone())
        self.stride = stride
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Replicate (not reflect) padding: reflect fails on the 1x1 maps a sweep can produce.
        x = F.pad(x, (1, 1, 1, 1), mode="replicate")
        return F.conv2d(x, self.kernel, stride=self.stride, groups=self.channels)


def make_pool(pooling: str, channels: int, size: int = 2, stride: int | None = None) -> nn.Module:
    """One pooling stage; `none` is a learned stride-`stride` convolution in its place."""
    stride = size if stride is None else stride
    if pooling == "max":
        return nn.MaxPool2d(size, stride)
    if pooling == "avg":
        return nn.AvgPool2d(size, stride)
    if pooling == "lp":
        return nn.LPPool2d(2, size, stride)
    if pooling == "blur":
        return nn.Sequential(nn.MaxPool2d(size, stride=1), Blur2d(channels, stride))
    if pooling == "none":
        return nn.Conv2d(channels, channels, size, stride)
    raise ValueError(f"pooling {pooling!r} is not one of {', '.join(POOLINGS)}")
