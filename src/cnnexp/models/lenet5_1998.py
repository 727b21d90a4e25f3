"""LeNet-5 as published (LeCun, Bottou, Bengio, Haffner 1998), with its 60,000 trainable parameters.

What makes it the original and not the lecture's simplified drawing:
- C3 reads only some S2 maps (the paper's Table I), 1,516 parameters instead of 2,416;
- S2/S4 are trainable subsampling: average of 2x2, times a trainable coefficient, plus a
  trainable bias, per map (2 parameters a map), followed by the squashing function;
- every layer squashes with f(a) = 1.7159 tanh(2a/3);
- the output layer is 10 Euclidean RBF units: y_i = sum_j (x_j - w_ij)^2, with prototypes w_i
  fixed to +-1 by hand from 7x12 bitmaps of the digits, as in the paper. They are buffers, not
  parameters, so the trainable count is C1 156 + S2 12 + C3 1,516 + S4 32 + C5 48,120 + F6 10,164
  = 60,000. The network returns -y (the negative distances) as logits; cross-entropy on them is the
  paper's MAP criterion without its constant e^{-j} term.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cnnexp.models.layers import ScaledTanh
from cnnexp.models.specs import lenet5_plan

# C3_TABLE[k] = the S2 maps that C3 map k reads (Table I of the paper).
C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)

# 7 wide x 12 high bitmaps of the digits; '#' = +1, '.' = -1 (the paper drew its own the same way).
DIGIT_BITMAPS = (
    "..###.. .#...#. #.....# #.....# #.....# #.....# #.....# #.....# #.....# #.....# .#...#. ..###..",
    "...#... ..##... .#.#... ...#... ...#... ...#... ...#... ...#... ...#... ...#... ...#... .#####.",
    ".#####. #.....# ......# ......# .....#. ....#.. ...#... ..#.... .#..... #...... #...... #######",
    ".#####. #.....# ......# ......# ......# ..####. ......# ......# ......# ......# #.....# .#####.",
    ".....#. ....##. ...#.#. ..#..#. .#...#. #....#. ####### .....#. .....#. .....#. .....#. .....#.",
    "####### #...... #...... #...... ######. ......# ......# ......# ......# ......# #.....# .#####.",
    "..####. .#..... #...... #...... ######. #.....# #.....# #.....# #.....# #.....# #.....# .#####.",
    "####### ......# .....#. .....#. ....#.. ....#.. ...#... ...#... ..#.... ..#.... ..#.... ..#....",
    ".#####. #.....# #.....# #.....# #.....# .#####. #.....# #.....# #.....# #.....# #.....# .#####.",
    ".#####. #.....# #.....# #.....# #.....# #.....# .###### ......# ......# ......# .....#. .####..",
)


def digit_prototypes() -> torch.Tensor:
    """(10, 84) tensor of +-1 RBF centres, one row per digit."""
    rows = [[1.0 if c == "#" else -1.0 for c in bitmap.replace(" ", "")] for bitmap in DIGIT_BITMAPS]
    return torch.tensor(rows)


class TrainableSubsampling(nn.Module):
    """S2/S4: 2x2 average times a trainable coefficient plus a trainable bias, per map."""

    def __init__(self, channels: int, size: int = 2):
        super().__init__()
        self.size = size
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.avg_pool2d(x, self.size)
        return pooled * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class ConnectionTableConv2d(nn.Module):
    """A convolution whose output map k reads only the input maps listed in `table[k]`.

    Only the connected kernels are parameters; they are scattered into a dense kernel
    (zeros elsewhere) for one fast conv2d call.
    """

    def __init__(self, in_channels: int, table: tuple[tuple[int, ...], ...], kernel_size: int):
        super().__init__()
        pairs = [k * in_channels + i for k, inputs in enumerate(table) for i in inputs]
        self.register_buffer("index", torch.tensor(pairs))
        self.in_channels, self.out_channels, self.kernel_size = in_channels, len(table), kernel_size
        # PyTorch's default conv init, U(-b, b) with b = 1/sqrt(fan_in), using each map's own fan-in.
        bounds = torch.tensor([(len(inputs) * kernel_size ** 2) ** -0.5 for inputs in table])
        pair_bounds = bounds[self.index // in_channels].view(-1, 1, 1)
        self.weight = nn.Parameter((torch.rand(len(pairs), kernel_size, kernel_size) * 2 - 1) * pair_bounds)
        self.bias = nn.Parameter((torch.rand(len(table)) * 2 - 1) * bounds)

    def dense_weight(self) -> torch.Tensor:
        k = self.kernel_size
        dense = self.weight.new_zeros(self.out_channels * self.in_channels, k, k)
        return dense.index_copy(0, self.index, self.weight).view(self.out_channels, self.in_channels, k, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.dense_weight(), self.bias)


class RBFOutput(nn.Module):
    """Euclidean RBF units with fixed prototypes; returns negative squared distances as logits."""

    def __init__(self, prototypes: torch.Tensor):
        super().__init__()
        self.register_buffer("prototypes", prototypes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -torch.cdist(x, self.prototypes).square()


class LeNet5_1998(nn.Module):
    def __init__(self, in_channels: int = 1, input_size: int = 32, num_classes: int = 10):
        super().__init__()
        if num_classes != 10:
            raise ValueError("lenet5_1998 has 10 RBF prototypes (the digits); use lenet5 for other datasets")
        self.plan = lenet5_plan(in_channels, input_size, 5, 1, 0, "avg", 2)
        self.c1 = nn.Conv2d(in_channels, 6, 5)
        self.s2 = TrainableSubsampling(6)
        self.c3 = ConnectionTableConv2d(6, C3_TABLE, 5)
        self.s4 = TrainableSubsampling(16)
        self.c5 = nn.Conv2d(16, 120, self.plan[-1].kernel)
        self.f6 = nn.Linear(120, 84)
        self.output = RBFOutput(digit_prototypes())
        self.squash = ScaledTanh()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squash(self.s2(self.squash(self.c1(x))))
        x = self.squash(self.s4(self.squash(self.c3(x))))
        x = self.squash(self.c5(x)).flatten(1)
        return self.output(self.squash(self.f6(x)))
