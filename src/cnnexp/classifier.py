"""A trained network with its preprocessing: pixel images in [0, 1] at the dataset's size -> logits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from torch import nn


class Preprocess(nn.Module):
    """Pad with the background value (0) to the network's input size `size` (28 -> 32 for LeNet-5),
    then normalize per channel. Inside the model, so transforms, augmentation and users work on plain
    pixels at the native size; images already at the input size (a transform on the padded canvas)
    pass unpadded."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], size: int):
        super().__init__()
        self.size = size
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = (self.size - x.shape[-1]) // 2
        if pad > 0:
            x = F.pad(x, (pad,) * 4)
        return (x - self.mean) / self.std


class Classifier(nn.Module):
    def __init__(self, preprocess: Preprocess, net: nn.Module):
        super().__init__()
        self.preprocess, self.net = preprocess, net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.preprocess(x))


def use_memory_format(module: nn.Module, memory_format: str) -> nn.Module:
    """Store the 4-D weights of `module` as `memory_format` (contiguous = NCHW, or channels_last = NHWC).
    channels_last trains and eagerly evaluates LeNet-5 faster on a CPU (benchmarks/train_speed.py, eval_speed.py;
    figures in benchmarks/README.md).
    A layer with 5-D weights (the p4 nets') keeps its own: PyTorch has no channels_last for them."""
    layout = torch.channels_last if memory_format == "channels_last" else torch.contiguous_format
    for m in module.modules():
        if not any(p.dim() > 4 for p in m.parameters(recurse=False)):
            # Tensor.to, as Module.to does: a 1-input-channel weight is restrided too (.contiguous is not).
            m._apply(lambda t: t.to(memory_format=layout) if t.dim() == 4 else t, recurse=False)
    return module


def build_classifier(config: Mapping[str, Any]) -> Classifier:
    """The untrained classifier a resolved run config describes (its `model` and `data` sections, and
    `memory_format`: absent in checkpoints older than it, which then load as they were trained)."""
    model, data = config["model"], config["data"]
    classifier = Classifier(Preprocess(data["mean"], data["std"], model["input_size"]),
                            instantiate(model, _convert_="all"))
    return use_memory_format(classifier, config.get("memory_format", "contiguous"))
