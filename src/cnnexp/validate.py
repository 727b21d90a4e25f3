"""Config checks in plain Python, run before torch or lightning are imported.

`validate` dispatches: the data, the model (to its spec in cnnexp.models.specs), the augmentation,
the training. Each failure is one ConfigError naming the key, the value given and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from cnnexp.data.datasets import DATASETS, SOURCES
from cnnexp.errors import ConfigError
from cnnexp.invariance import CANVASES, FAMILIES, SHIFT_MODES, SUMMARY_METRICS
from cnnexp.models.specs import SPECS, ModelSpec, ShapeError
from cnnexp.training import METRICS, SELECTABLE

ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")
MEMORY_FORMATS = ("contiguous", "channels_last")
CLIP_ALGORITHMS = ("norm", "value")
# The sections validate() reads (the sweep check resolves only these).
VALIDATED = ("seed", "resume", "threads", "memory_format", "optimized_metric", "data", "model", "augment", "optim",
             "trainer", "invariance")


def _get(cfg: Mapping, key: str) -> Any:
    node: Any = cfg
    for part in key.split("."):
        node = node[part]
    return node


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # YAML's true/false are ints to Python


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


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


def _number(cfg: Mapping, key: str, ok: Callable[[float], bool], allowed: str, optional: bool = False) -> None:
    """A finite plain number (not a bool) for which `ok` holds; else "must be a number <allowed>"."""
    value = _get(cfg, key)
    if value is None and optional:
        return
    if not _is_number(value) or not ok(value):
        raise ConfigError(f"{key}={value!r}: must be a number {allowed}{' or null' if optional else ''}")


def _bool(cfg: Mapping, key: str) -> None:
    if not isinstance(_get(cfg, key), bool):
        raise ConfigError(f"{key}={_get(cfg, key)!r}: must be true or false")


def check_data(cfg: Mapping) -> None:
    _choice(cfg, "data.name", DATASETS)
    for key in ("data.batch_size", "data.eval_batch_size", "data.channels", "data.image_size", "data.num_classes"):
        _int(cfg, key, 1)
    _int(cfg, "data.val_size", 0)
    _bool(cfg, "data.on_device")
    _int(cfg, "data.train_size", _get(cfg, "data.num_classes"), optional=True)
    name, val, size = _get(cfg, "data.name"), _get(cfg, "data.val_size"), _get(cfg, "data.train_size")
    total, title = SOURCES[name].train_images, SOURCES[name].title
    if val >= total:
        raise ConfigError(f"data.val_size={val}: must be < {total} ({title}'s training images)")
    if size is not None and size > total - val:
        raise ConfigError(f"data.train_size={size}: must be <= {total - val} ({title}'s {total} training "
                          f"images less data.val_size={val}) or null")
    _int(cfg, "seed", 0)


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


def check_spec(cfg: Mapping, spec: ModelSpec) -> None:
    """The model's allowed values, then its plan (every layer outputs something)."""
    m = cfg["model"]
    for key, minimum in spec.ints.items():
        _int(cfg, f"model.{key}", minimum)
    for key, minimum in spec.optional_ints.items():
        _int(cfg, f"model.{key}", minimum, optional=True)
    for key, minimum in spec.int_lists.items():
        values = m[key]
        if (not isinstance(values, list | tuple) or (key in spec.nonempty and not values)
                or any(not _is_int(v) or v < minimum for v in values)):
            need = "a non-empty list" if key in spec.nonempty else "a list"
            raise ConfigError(f"model.{key}={values!r}: must be {need} of integers >= {minimum}")
        if key in spec.lengths and len(values) != spec.lengths[key]:
            raise ConfigError(f"model.{key}={values!r}: must list exactly {spec.lengths[key]} integers")
    for key, allowed in spec.choices.items():
        _choice(cfg, f"model.{key}", allowed)
    for key, value in spec.fixed.items():
        if m[key] != value:
            raise ConfigError(f"model.{key}={m[key]!r}: must be {value!r} for {spec.target.rsplit('.', 1)[-1]}")
    try:
        plan = spec.plan(m)
    except ShapeError as e:
        raise ConfigError(f"model: {e}") from None
    if "padding_mode" in m:
        _check_padding_mode(plan, m)


def check_model(cfg: Mapping) -> None:
    """The keys every network takes, then its spec's checks (a network without a spec is checked when built)."""
    for key in ("model.in_channels", "model.num_classes"):
        _int(cfg, key, 1)
    size = _get(cfg, "data.image_size")
    _int(cfg, "model.input_size", size)
    if (_get(cfg, "model.input_size") - size) % 2:
        raise ConfigError(f"model.input_size={_get(cfg, 'model.input_size')}: must exceed data.image_size={size} "
                          f"by an even number (images are padded equally on each side)")
    spec = SPECS.get(str(_get(cfg, "model._target_")))
    if spec is not None:
        check_spec(cfg, spec)


def check_augment(cfg: Mapping) -> None:
    _int(cfg, "augment.max_shift", 0)
    _number(cfg, "augment.max_degrees", lambda v: 0 <= v <= 180, "in [0, 180]")
    lo_hi = _get(cfg, "augment.scale_range")
    if (not isinstance(lo_hi, list | tuple) or len(lo_hi) != 2
            or not all(_is_number(v) for v in lo_hi)
            or not 0 < lo_hi[0] <= lo_hi[1]):
        raise ConfigError(f"augment.scale_range={lo_hi!r}: must be [low, high] with 0 < low <= high")


def check_invariance(cfg: Mapping) -> None:
    """The suite's own keys (it runs after training: a bad value would waste the whole run)."""
    _bool(cfg, "invariance.enabled")
    if not _get(cfg, "invariance.enabled"):
        return
    _choice(cfg, "invariance.shift_mode", SHIFT_MODES)
    _choice(cfg, "invariance.canvas", CANVASES)
    _int(cfg, "invariance.num_images", 1, optional=True)
    _int(cfg, "invariance.batch_size", 1)
    _int(cfg, "invariance.consistency_max_shift", 0)
    for family in FAMILIES:
        spec = _get(cfg, f"invariance.{family}")
        if spec is None:
            continue
        if (not isinstance(spec, Mapping) or set(spec) != {"start", "stop", "step"}
                or not all(_is_number(v) for v in spec.values()) or spec["step"] <= 0 or spec["stop"] < spec["start"]):
            raise ConfigError(f"invariance.{family}={spec!r}: must be {{start, stop, step}} with step > 0 and "
                              f"stop >= start, or null (not measured)")
    for key, ok in (("fgsm", _is_number), ("circular_shifts", _is_int), ("equivariance_shifts", _is_int)):
        values = _get(cfg, f"invariance.{key}")
        if not isinstance(values, list | tuple) or not all(ok(v) for v in values):
            kind = "numbers" if key == "fgsm" else "integers"
            raise ConfigError(f"invariance.{key}={values!r}: must be a list of {kind}")


def check_training(cfg: Mapping) -> None:
    _bool(cfg, "resume")
    _int(cfg, "threads", 1, optional=True)
    _choice(cfg, "memory_format", MEMORY_FORMATS)
    _int(cfg, "trainer.max_epochs", 1)
    _choice(cfg, "trainer.accelerator", ACCELERATORS)
    _number(cfg, "trainer.gradient_clip_val", lambda v: v >= 0, ">= 0", optional=True)
    _choice(cfg, "trainer.gradient_clip_algorithm", CLIP_ALGORITHMS)
    _int(cfg, "trainer.accumulate_grad_batches", 1)
    _number(cfg, "optim.optimizer.lr", lambda v: v > 0, "> 0")
    _number(cfg, "optim.label_smoothing", lambda v: 0 <= v < 1, "in [0, 1)")
    check_optimized_metric(cfg)


def check_optimized_metric(cfg: Mapping) -> None:
    """A sweeper optimizes a validation (or cost) metric this run produces, never a test-set number."""
    metric = _get(cfg, "optimized_metric")
    if metric in SELECTABLE:
        return
    if metric in METRICS or metric in SUMMARY_METRICS:
        raise ConfigError(f"optimized_metric={metric!r}: measured on the official test set, which reports and "
                          f"never selects; use val/acc_best (or one of {', '.join(SELECTABLE[1:])})")
    raise ConfigError(f"optimized_metric={metric!r}: not a metric of this run; one of {', '.join(SELECTABLE)}")


def validate(cfg: Mapping) -> None:
    """Raise ConfigError for the first value in `cfg` (a resolved mapping) that cannot work."""
    try:
        check_data(cfg)
        check_model(cfg)
        check_augment(cfg)
        check_invariance(cfg)
        check_training(cfg)
    except KeyError as e:
        raise ConfigError(f"missing config key {e.args[0]!r}") from None
