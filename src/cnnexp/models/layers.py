"""The layers a model config selects by name: activations (`model.activation`), pooling
(`model.pooling`: max, avg, lp, blur, none, aps, aps_blur) and the head (`model.head`: flatten, gap)."""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from cnnexp.models.specs import ACTIVATIONS, BLUR_TAPS, HEADS, POOLINGS


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

    def __init__(self, channels: int, stride: int = 2, padding_mode: str = "replicate"):
        super().__init__()
        taps = torch.tensor([1.0, 2.0, 1.0])
        assert len(taps) == BLUR_TAPS
        kernel = torch.outer(taps, taps)
        self.register_buffer("kernel", (kernel / kernel.sum()).expand(channels, 1, -1, -1).clone())
        self.stride = stride
        self.channels = channels
        # Replicate (not reflect) by default: reflect fails on the 1x1 maps a sweep can produce.
        # Circular keeps an APS net exactly shift-equivariant.
        self.padding_mode = padding_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (1, 1, 1, 1), mode=self.padding_mode)
        return F.conv2d(x, self.kernel, stride=self.stride, groups=self.channels)


class APSPool(nn.Module):
    """Adaptive polyphase sampling (Chaman & Dokmanic 2021): dense circular max pooling (stride 1), an
    optional blur, then of the stride^2 polyphase components keep, per example, the one of largest l2
    norm over all channels and positions. A circular shift of the input permutes the components, so
    the choice follows it: the output is the unshifted output shifted by a whole number of pixels.
    """

    def __init__(self, channels: int, size: int = 2, stride: int | None = None, blur: bool = False):
        super().__init__()
        self.size, self.stride = size, size if stride is None else stride
        self.blur = Blur2d(channels, stride=1, padding_mode="circular") if blur else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blur(dense_max(x, self.size, circular=True))
        s = self.stride
        n, c, h, w = x.shape
        phases = x.view(n, c, h // s, s, w // s, s)  # component (i, j) = phases[:, :, :, i, :, j]
        energy = (x * x).sum(1).view(n, h // s, s, w // s, s).sum(dim=(1, 3)).flatten(1)  # (n, s * s)
        # argmax breaks ties on the first index: an all-blank input keeps component (0, 0).
        best = energy.argmax(dim=1)
        return phases[torch.arange(n, device=x.device), :, :, best // s, :, best % s]


def dense_max(x: torch.Tensor, size: int, circular: bool = False) -> torch.Tensor:
    """Max pooling with kernel `size` and stride 1 (on x circularly padded right and bottom by size - 1 if
    `circular`, which keeps the size). A running maximum of shifted slices, separably: the same values as
    max_pool2d, and a much faster forward. Under autograd without `circular`, max_pool2d itself, whose
    backward is cheaper; on a tie its gradient goes to one input instead of being split (after a ReLU the
    tied inputs are zeros, whose gradient is 0 anyway). Circular, max_pool2d on the padded map gained
    little: APS nets keep the running maximum, and the trainings the claims measured. Figures:
    benchmarks/README.md, "Dense max pooling"."""
    if not circular and x.requires_grad and torch.is_grad_enabled():
        return F.max_pool2d(x, size, 1)
    for dim in (-1, -2):
        if circular:
            x = functools.reduce(torch.maximum, [x.roll(-a, dim) for a in range(size)])
        else:
            n = x.shape[dim] - size + 1
            x = functools.reduce(torch.maximum, [x.narrow(dim, a, n) for a in range(size)])
    return x


class DenseMax(nn.Module):
    """`dense_max` as a layer: Zhang (2019)'s MaxBlurPool is DenseMax then a subsampling Blur2d."""

    def __init__(self, size: int = 2):
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dense_max(x, self.size)


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
        return nn.Sequential(DenseMax(size), Blur2d(channels, stride))  # keys as before: s2.1.kernel
    if pooling == "none":
        return nn.Conv2d(channels, channels, size, stride)
    if pooling in ("aps", "aps_blur"):
        return APSPool(channels, size, stride, blur=pooling == "aps_blur")
    raise ValueError(f"pooling {pooling!r} is not one of {', '.join(POOLINGS)}")


class GlobalAvgPool(nn.Module):
    """(N, C, H, W) -> (N, C): the mean over positions, so the classifier reads no position."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(-2, -1))


def make_head_pool(head: str) -> nn.Module:
    """What turns the last feature map into the classifier's input vector."""
    if head == "flatten":
        return nn.Flatten()
    if head == "gap":
        return GlobalAvgPool()
    raise ValueError(f"head {head!r} is not one of {', '.join(HEADS)}")
