"""Model specs: each network's allowed values and its layer plan (output sizes, receptive fields) by
plain arithmetic, registered once by the network's `_target_`. No torch.

Config validation reads a spec before torch is loaded, so an impossible combination of kernel,
stride, padding and pooling is refused in milliseconds; the network builds its layers from the same
plan (`net.plan`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

POOLINGS = ("max", "avg", "lp", "blur", "none", "aps", "aps_blur")
APS = ("aps", "aps_blur")  # adaptive polyphase sampling (Chaman & Dokmanic 2021), without and with blur
ACTIVATIONS = ("relu", "tanh", "scaled_tanh")
PADDING_MODES = ("zeros", "circular", "reflect")
HEADS = ("flatten", "gap")  # what the classifier reads: every position of the last map, or its average
ROTATION_POOLS = ("max", "mean", "none")  # p4 nets: pool C5's 4 rotations (invariant) or keep them
P4_POOLINGS = ("max", "avg", "lp", "blur")  # per-channel poolings, which commute with quarter turns
BLUR_TAPS = 3  # Zhang (2019) binomial [1, 2, 1] filter; odd so the blur keeps the size


class ShapeError(ValueError):
    """A layer would receive or produce an empty feature map."""


def conv_out(size: int, kernel: int, padding: int = 0, stride: int = 1, dilation: int = 1) -> int:
    """O = floor((W - K_eff + 2P) / S) + 1 with K_eff = D(K - 1) + 1 (PyTorch's rule, floor mode)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@dataclass(frozen=True)
class LayerShape:
    """One spatial layer of a plan: what goes in, what comes out, what one output unit sees."""

    name: str
    kind: str  # conv | pool | fc
    channels: int
    in_size: int
    out_size: int
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    rf: int = 1  # receptive field side on the input, in pixels
    jump: int = 1  # distance on the input between two neighbouring output units

    @property
    def formula(self) -> str:
        return (
            f"O = floor(({self.in_size} - {self.kernel} + 2*{self.padding}) / {self.stride}) + 1"
            f" = {self.out_size}"
        )


def _layer(prev_size: int, prev_rf: int, prev_jump: int, name: str, kind: str, channels: int,
           kernel: int, stride: int, padding: int, extra_rf: int = 0) -> LayerShape:
    out = conv_out(prev_size, kernel, padding, stride)
    shape = LayerShape(name, kind, channels, prev_size, out, kernel, stride, padding,
                       rf=prev_rf + (kernel - 1 + extra_rf) * prev_jump, jump=prev_jump * stride)
    if out < 1:
        raise ShapeError(
            f"layer {name} ({kind}, kernel {kernel}, stride {stride}, padding {padding}) gets a "
            f"{prev_size}x{prev_size} input and would output nothing: {shape.formula}"
        )
    return shape


def pool_layer(prev: LayerShape, name: str, pooling: str, size: int, stride: int | None) -> LayerShape:
    """Plan a pooling stage; `none` is a stride-`stride` convolution in its place."""
    if pooling not in POOLINGS:
        raise ShapeError(f"pooling {pooling!r} is not one of {', '.join(POOLINGS)}")
    stride = size if stride is None else stride
    if pooling in APS:
        # Dense circular max (and blur) keep the size; APS keeps one of stride^2 polyphase components.
        if prev.out_size % stride:
            raise ShapeError(f"model.pooling={pooling} needs map sizes divisible by the APS stride: layer {name} "
                             f"gets {prev.out_size}x{prev.out_size}, {prev.out_size} mod {stride} = "
                             f"{prev.out_size % stride}")
        extra = BLUR_TAPS - 1 if pooling == "aps_blur" else 0
        return LayerShape(name, "aps", prev.channels, prev.out_size, prev.out_size // stride, size, stride, 0,
                          rf=prev.rf + (size - 1 + extra) * prev.jump, jump=prev.jump * stride)
    kind = "conv" if pooling == "none" else "pool"
    # Blur pooling = dense max (stride 1) then a 3-tap blur that subsamples: same output size,
    # but each unit also sees the blur's extra BLUR_TAPS - 1 pixels.
    extra = BLUR_TAPS - 1 if pooling == "blur" else 0
    return _layer(prev.out_size, prev.rf, prev.jump, name, kind, prev.channels, size, stride, 0, extra)


def conv_layer(prev: LayerShape, name: str, channels: int, kernel: int, stride: int = 1,
               padding: int = 0) -> LayerShape:
    return _layer(prev.out_size, prev.rf, prev.jump, name, "conv", channels, kernel, stride, padding)


def input_layer(channels: int, size: int) -> LayerShape:
    return LayerShape("input", "input", channels, size, size)


def lenet5_plan(in_channels: int = 1, input_size: int = 32, kernel_size: int = 5, stride: int = 1,
                padding: int = 0, pooling: str = "avg", pool_size: int = 2,
                pool_stride: int | None = None, head: str = "flatten",
                channels: tuple[int, int, int] = (6, 16, 120)) -> list[LayerShape]:
    """C1, S2, C3, S4, C5 of LeNet-5 for any kernel/stride/padding/pooling.

    With the flatten head C5 keeps its role whatever came before: its kernel covers the whole
    remaining map, so it gives 120@1x1. With the GAP head C5 is a conv like C1 and C3, averaged after.
    """
    x = input_layer(in_channels, input_size)
    c1 = conv_layer(x, "c1", channels[0], kernel_size, stride, padding)
    s2 = pool_layer(c1, "s2", pooling, pool_size, pool_stride)
    c3 = conv_layer(s2, "c3", channels[1], kernel_size, stride, padding)
    s4 = pool_layer(c3, "s4", pooling, pool_size, pool_stride)
    if head == "gap":
        c5 = conv_layer(s4, "c5", channels[2], kernel_size, stride, padding)
    else:
        c5 = conv_layer(s4, "c5", channels[2], s4.out_size)
    return [c1, s2, c3, s4, c5]


def check_aps(m: Mapping[str, Any]) -> None:
    """APS is exactly shift-invariant only with circular "same" convolutions and a GAP head (pool_layer
    checks the map sizes): refuse anything else, naming what is missing."""
    pooling = m["pooling"]
    if pooling not in APS:
        return
    need = f"model.pooling={pooling} needs circular 'same' convolutions, even map sizes and a GAP head"
    if m["padding_mode"] != "circular":
        raise ShapeError(f"{need}: set model.padding_mode=circular (it is {m['padding_mode']})")
    if m["head"] != "gap":
        raise ShapeError(f"{need}: set model.head=gap (it is {m['head']})")
    k, s, p = m["kernel_size"], m["stride"], m["padding"]
    if s != 1 or 2 * p != k - 1:
        raise ShapeError(f"{need}: kernel {k}, stride {s}, padding {p} change the map size; a same convolution "
                         f"has stride 1, an odd kernel and padding (kernel - 1) / 2")


def check_centre_symmetric(plan: list[LayerShape]) -> None:
    """A quarter turn of the input is a quarter turn of a layer's output only if the layer's sampling
    grid is centre-symmetric: its window positions end as far from the far edge as they start from the
    near one, i.e. (W + 2P - K) is a multiple of the stride S."""
    for layer in plan:
        rest = (layer.in_size + 2 * layer.padding - layer.kernel) % layer.stride
        if rest:
            raise ShapeError(f"a p4 net needs centre-symmetric sampling grids: layer {layer.name} (kernel "
                             f"{layer.kernel}, stride {layer.stride}, padding {layer.padding}) on "
                             f"{layer.in_size}x{layer.in_size} leaves ({layer.in_size} + 2*{layer.padding} - "
                             f"{layer.kernel}) mod {layer.stride} = {rest} pixels unsampled on one side")


def cnn_plan(in_channels: int, input_size: int, channels: list[int], kernel_size: int = 3,
             stride: int = 1, padding: int = 1, pooling: str = "max", pool_size: int = 2,
             pool_stride: int | None = None) -> list[LayerShape]:
    """A stack of conv -> pool blocks, one block per entry of `channels` (the head comes after)."""
    plan: list[LayerShape] = []
    prev = input_layer(in_channels, input_size)
    for i, ch in enumerate(channels, start=1):
        conv = conv_layer(prev, f"conv{i}", ch, kernel_size, stride, padding)
        prev = pool_layer(conv, f"pool{i}", pooling, pool_size, pool_stride)
        plan += [conv, prev]
    return plan


@dataclass(frozen=True)
class ModelSpec:
    """What validation needs to know of a network, before torch: its allowed values and its plan.

    `ints`: key -> minimum; `optional_ints`: the same, or null; `int_lists`: a list of integers, each
    >= the minimum (`nonempty` ones need an entry); `choices`: key -> allowed values; `fixed`: key ->
    the only value; `plan`: the model config -> its layer plan (ShapeError when a layer outputs nothing).
    """

    target: str
    plan: Callable[[Mapping[str, Any]], list[LayerShape]]
    ints: Mapping[str, int] = field(default_factory=dict)
    optional_ints: Mapping[str, int] = field(default_factory=dict)
    int_lists: Mapping[str, int] = field(default_factory=dict)
    nonempty: tuple[str, ...] = ()
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fixed: Mapping[str, Any] = field(default_factory=dict)  # key -> the one value the network supports
    lengths: Mapping[str, int] = field(default_factory=dict)  # list key -> the one length it must have


SPECS: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    SPECS[spec.target] = spec
    return spec


def _conv_args(m: Mapping[str, Any]) -> dict[str, Any]:
    return {k: m[k] for k in ("kernel_size", "stride", "padding", "pooling", "pool_size", "pool_stride")}


def _lenet5(m: Mapping[str, Any]) -> list[LayerShape]:
    check_aps(m)
    return lenet5_plan(m["in_channels"], m["input_size"], **_conv_args(m), head=m["head"])


def _cnn(m: Mapping[str, Any]) -> list[LayerShape]:
    check_aps(m)
    return cnn_plan(m["in_channels"], m["input_size"], list(m["channels"]), **_conv_args(m))


def _lenet5_p4(m: Mapping[str, Any]) -> list[LayerShape]:
    plan = lenet5_plan(m["in_channels"], m["input_size"], **_conv_args(m), channels=tuple(m["channels"]))
    check_centre_symmetric(plan)
    return plan


# The sweepable conv nets: kernel, stride, padding (and its mode), pooling, activation, head.
_CONV = dict(ints={"kernel_size": 1, "stride": 1, "padding": 0, "pool_size": 1}, optional_ints={"pool_stride": 1},
             choices={"padding_mode": PADDING_MODES, "pooling": POOLINGS, "activation": ACTIVATIONS,
                      "head": HEADS})
register(ModelSpec("cnnexp.models.lenet5.LeNet5", _lenet5, **_CONV))
register(ModelSpec("cnnexp.models.cnn.CNN", _cnn, ints={**_CONV["ints"], "hidden": 1},
                   optional_ints=_CONV["optional_ints"], int_lists={"channels": 1}, nonempty=("channels",),
                   choices=_CONV["choices"]))
register(ModelSpec("cnnexp.models.lenet5_p4.LeNet5P4", _lenet5_p4, ints=_CONV["ints"],
                   optional_ints=_CONV["optional_ints"], int_lists={"channels": 1}, lengths={"channels": 3},
                   choices={"padding_mode": PADDING_MODES, "pooling": P4_POOLINGS, "activation": ACTIVATIONS,
                            "rotation_pool": ROTATION_POOLS}))
# Its 10 RBF prototypes are the digits' bitmaps.
register(ModelSpec("cnnexp.models.lenet5_1998.LeNet5_1998", lambda m: lenet5_plan(m["in_channels"], m["input_size"]),
                   fixed={"num_classes": 10}))
register(ModelSpec("cnnexp.models.mlp.MLP", lambda m: [], int_lists={"hidden": 1},
                   choices={"activation": ACTIVATIONS}))
