"""Config checks in plain Python, run before torch or lightning are imported.

Each failure is one ConfigError naming the key, the value given and what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cnnexp.data.datasets import DATASETS
from cnnexp.errors import ConfigError
from cnnexp.models.shapes import POOLINGS, ShapeError, cnn_plan, lenet5_plan

ACTIVATIONS = ("relu", "tanh")
PADDING_MODES = ("zeros", "circular", "reflect")
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")
# The keys of metrics.json (train.py writes them); the invariance ones only with the suite on.
TRAIN_METRICS = ("test/acc", "test/loss", "val/acc", "params/total", "params/trainable", "time/fit_s",
                 "throughput/train_img_s")
_FAMILIES = ("shift_x", "shift_y", "rotate", "scale")  # cnnexp.invariance.transforms.FAMILIES (imports torch)
INVARIANCE_METRICS = (*(f"inv/{f}_auc" for f in (*_FAMILIES, "fgsm")), *(f"inv/{f}_worst_acc" for f in _FAMILIES),
                      "inv/shift_consistency", "inv/p_top1_change_1px")


def _get(cfg: Mapping, key: str) -> Any:
    node: Any = cfg
    for part in key.split("."):
        node = node[part]
    return node


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # YAML's true/false are ints to Python


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(cfg: Mapping, key: str, minimum: int, optional: bool = False) -> None:
    value = _get(cfg, key)
    if value is None and optional:
        return
    if not _is_int(value) or value < minimum:
        extra = " or null" if optional else ""
        raise ConfigError(f"{key}={value!r}: must be an integer >= {minimum}{extra}")


def _choice(cfg: Mapping, key: str, allowed: tuple[str, ...]) -> None:
    value = _get(cfg, key)
    if value not in allowed:
        raise ConfigError(f"{key}={value!r}: must be one of {', '.join(allowed)}")


def _number(cfg: Mapping, key: str, ok: Callable[[float], bool], allowed: str) -> None:
    """A plain number (not a bool) for which `ok` holds; else "must be a number <allowed>"."""
    value = _get(cfg, key)
    if not _is_number(value) or not ok(value):
        raise ConfigError(f"{key}={value!r}: must be a number {allowed}")


def check_data(cfg: Mapping) -> None:
    _choice(cfg, "data.name", DATASETS)
    for key in ("data.batch_size", "data.eval_batch_size", "data.channels", "data.image_size", "data.num_classes"):
        _int(cfg, key, 1)
    _int(cfg, "data.val_size", 0)
    if not isinstance(_get(cfg, "data.on_device"), bool):
        raise ConfigError(f"data.on_device={_get(cfg, 'data.on_device')!r}: must be true or false")
    _int(cfg, "data.train_size", _get(cfg, "data.num_classes"), optional=True)
    _int(cfg, "seed", 0)
    size, target = _get(cfg, "data.image_size"), _get(cfg, "model.input_size")
    _int(cfg, "model.input_size", size)
    if (target - size) % 2:
        raise ConfigError(f"model.input_size={target}: must exceed data.image_size={size} by an even number "
                          f"(images are padded equally on each side)")


def _check_conv_model(cfg: Mapping) -> None:
    for key in ("model.kernel_size", "model.stride", "model.pool_size"):
        _int(cfg, key, 1)
    _int(cfg, "model.padding", 0)
    _int(cfg, "model.pool_stride", 1, optional=True)
    _choice(cfg, "model.padding_mode", PADDING_MODES)
    _choice(cfg, "model.pooling", POOLINGS)
    _choice(cfg, "model.activation", ACTIVATIONS)


def _conv_args(m: Mapping) -> dict:
    return dict(kernel_size=m["kernel_size"], stride=m["stride"], padding=m["padding"], pooling=m["pooling"],
                pool_size=m["pool_size"], pool_stride=m["pool_stride"])


def _check_padding_mode(plan: list, m: Mapping) -> None:
    """PyTorch's reflect padding needs padding < the layer's input size (circular: <=)."""
    mode, pad = m["padding_mode"], m["padding"]
    for layer in plan:
        if layer.kind == "conv" and layer.padding and mode in ("reflect", "circular"):
            limit_ok = pad < layer.in_size if mode == "reflect" else pad <= layer.in_size
            if not limit_ok:
                raise ConfigError(f"model.padding={pad} with padding_mode={mode}: layer {layer.name} gets a "
                                  f"{layer.in_size}x{layer.in_size} input; {mode} padding must be "
                                  f"{'<' if mode == 'reflect' else '<='} {layer.in_size}")


def _plan_lenet5(m: Mapping) -> None:
    _check_padding_mode(lenet5_plan(m["in_channels"], m["input_size"], **_conv_args(m)), m)


def _plan_cnn(m: Mapping) -> None:
    channels = m["channels"]
    if not channels or any(not _is_int(c) or c < 1 for c in channels):
        raise ConfigError(f"model.channels={list(channels)!r}: must be a non-empty list of integers >= 1")
    _int({"model": m}, "model.hidden", 1)
    _check_padding_mode(cnn_plan(m["in_channels"], m["input_size"], list(channels), **_conv_args(m)), m)


def _plan_lenet5_1998(m: Mapping) -> None:
    lenet5_plan(m["in_channels"], m["input_size"])


def _plan_mlp(m: Mapping) -> None:
    hidden = m["hidden"]
    if any(not _is_int(h) or h < 1 for h in hidden):
        raise ConfigError(f"model.hidden={list(hidden)!r}: must be a list of integers >= 1")


# Model classes by the last part of `model._target_`, with their shape check.
MODEL_CHECKS: dict[str, tuple[bool, Callable[[Mapping], None]]] = {
    "LeNet5": (True, _plan_lenet5),
    "CNN": (True, _plan_cnn),
    "LeNet5_1998": (False, _plan_lenet5_1998),
    "MLP": (False, _plan_mlp),
}


def check_model(cfg: Mapping) -> None:
    target = str(_get(cfg, "model._target_"))
    cls = target.rsplit(".", 1)[-1]
    if cls not in MODEL_CHECKS:
        raise ConfigError(f"model._target_={target!r}: must be one of the cnnexp.models classes "
                          f"({', '.join(MODEL_CHECKS)})")
    sweepable, plan = MODEL_CHECKS[cls]
    if sweepable:
        _check_conv_model(cfg)
    elif "activation" in cfg["model"]:
        _choice(cfg, "model.activation", ACTIVATIONS)
    try:
        plan(cfg["model"])
    except ShapeError as e:
        raise ConfigError(f"model: {e}") from None


def check_augment(cfg: Mapping) -> None:
    _int(cfg, "augment.max_shift", 0)
    _number(cfg, "augment.max_degrees", lambda v: 0 <= v <= 180, "in [0, 180]")
    lo_hi = _get(cfg, "augment.scale_range")
    if (not isinstance(lo_hi, list | tuple) or len(lo_hi) != 2
            or not all(_is_number(v) for v in lo_hi)
            or not 0 < lo_hi[0] <= lo_hi[1]):
        raise ConfigError(f"augment.scale_range={lo_hi!r}: must be [low, high] with 0 < low <= high")


def check_training(cfg: Mapping) -> None:
    if not isinstance(_get(cfg, "resume"), bool):
        raise ConfigError(f"resume={_get(cfg, 'resume')!r}: must be true or false")
    _int(cfg, "threads", 1, optional=True)
    _int(cfg, "trainer.max_epochs", 1)
    _choice(cfg, "trainer.accelerator", ACCELERATORS)
    _number(cfg, "optim.optimizer.lr", lambda v: v > 0, "> 0")
    _number(cfg, "optim.label_smoothing", lambda v: 0 <= v < 1, "in [0, 1)")
    check_optimized_metric(cfg)


def check_optimized_metric(cfg: Mapping) -> None:
    """The metric a sweeper optimizes must be one this run will produce (else every trial is wasted)."""
    metric = _get(cfg, "optimized_metric")
    allowed = TRAIN_METRICS + (INVARIANCE_METRICS if _get(cfg, "invariance.enabled") else ())
    if metric not in allowed:
        hint = " (needs the invariance suite: invariance=quick or default)" if metric in INVARIANCE_METRICS else ""
        raise ConfigError(f"optimized_metric={metric!r}: not a metric of this run{hint}; "
                          f"one of {', '.join(allowed)}")


def validate(cfg: Mapping) -> None:
    """Raise ConfigError for the first value in `cfg` (a resolved mapping) that cannot work."""
    try:
        check_data(cfg)
        check_model(cfg)
        check_augment(cfg)
        check_training(cfg)
    except KeyError as e:
        raise ConfigError(f"missing config key {e.args[0]!r}") from None
