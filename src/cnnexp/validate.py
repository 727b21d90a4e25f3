"""Config checks in plain Python, run before torch or lightning are imported. Every command checks through
`checked(cfg, check)`: the config resolved once, checked once per process (validate for a train config,
validate_eval, validate_claims).

`validate` dispatches: the data, the model (to its spec in cnnexp.models.specs), the augmentation, the
invariance suite, the trainer, optimizer, callbacks and loggers, then keys no check read (unknown ones). Each failure
is one ConfigError naming the key, the value given and what is allowed. Every key of every shipped config
is read or listed in PLUMBING (tests/test_config_fuzz.py), and a fuzzer checks that what passes runs.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from cnnexp.config import CONF_DIR
from cnnexp.data.datasets import DATASETS, SOURCES
from cnnexp.errors import ConfigError
from cnnexp.invariance import CANVASES, MAX_POINTS, MIN_STEP, SHIFT_MODES
from cnnexp.invariance.measures import FAMILIES, MEASURES, SUMMARY_METRICS
from cnnexp.models.specs import SPECS, ModelSpec, ShapeError
from cnnexp.training import METRICS, SELECTABLE

ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")
GPUS = ("gpu", "cuda")
MEMORY_FORMATS = ("contiguous", "channels_last")
CLIP_ALGORITHMS = ("norm", "value")
# Lightning's precisions that train cnnexp's networks on a CPU and a GPU (16-mixed is GPU-only in Lightning).
PRECISIONS = ("32-true", "32", "bf16-mixed", "16-mixed", "64-true")
INTERVALS = ("step", "epoch")  # when the learning-rate schedule steps
LOGGERS = tuple(sorted(p.stem for p in Path(CONF_DIR, "logger").glob("*.yaml")))  # conf/logger/'s options
# Keys validation does not read: classes the config instantiates and paths derived from paths.*; a wrong
# one fails where it is used, with the library's message (tests/test_config_fuzz.py keeps this list exact).
PLUMBING = ("_target_", "_partial_", "data.data_dir", "trainer.default_root_dir", "trainer.plugins",
            "callbacks.model_checkpoint.dirpath", "logger.tensorboard.save_dir", "logger.tensorboard.name",
            "logger.tensorboard.version")


def _get(cfg: Mapping, key: str) -> Any:
    node: Any = cfg
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise ConfigError(f"{key}: missing from the config (removed with ~{key}?); it needs a value")
        node = node[part]
    return node


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # YAML's true/false are ints to Python


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def integer(cfg: Mapping, key: str, minimum: int, optional: bool = False) -> None:
    value = _get(cfg, key)
    if value is None and optional:
        return
    if not _is_int(value) or value < minimum:
        extra = " or null" if optional else ""
        raise ConfigError(f"{key}={value!r}: must be an integer >= {minimum}{extra}")


def choice(cfg: Mapping, key: str, allowed: tuple[str, ...]) -> None:
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


def _str(cfg: Mapping, key: str, name_like: bool = False) -> None:
    """A non-empty string; `name_like`: also usable as one directory name."""
    value = _get(cfg, key)
    if not isinstance(value, str) or not value.strip() or (name_like and ("/" in value or value in (".", ".."))):
        allowed = "a directory name (no '/', not '.' or '..')" if name_like else "a non-empty string"
        raise ConfigError(f"{key}={value!r}: must be {allowed}")


def _numbers(cfg: Mapping, key: str, length: int, ok: Callable[[float], bool], allowed: str) -> None:
    values = _get(cfg, key)
    if (not isinstance(values, list | tuple) or len(values) != length
            or not all(_is_number(v) and ok(v) for v in values)):
        raise ConfigError(f"{key}={values!r}: must list {length} number{'s' * (length > 1)} {allowed}")


def check_data(cfg: Mapping) -> None:
    choice(cfg, "data.name", DATASETS)
    source = SOURCES[_get(cfg, "data.name")]
    channels = source.channels
    # Facts of the dataset (${dataset:KEY} in its yaml): the files decide them, an override can only restate them.
    for key, fact in (("channels", channels), ("image_size", source.image_size), ("num_classes", source.num_classes)):
        if _get(cfg, f"data.{key}") != fact:
            raise ConfigError(f"data.{key}={_get(cfg, f'data.{key}')!r}: {source.title} has {fact} (a fact of "
                              f"the dataset; choose another with data=NAME)")
    for key in ("data.batch_size", "data.eval_batch_size"):
        integer(cfg, key, 1)
    _numbers(cfg, "data.mean", channels, lambda v: True, "(one per channel)")
    _numbers(cfg, "data.std", channels, lambda v: v > 0, "> 0 (one per channel)")
    integer(cfg, "data.val_size", 1)
    _bool(cfg, "data.on_device")
    _bool(cfg, "data.download")
    integer(cfg, "data.train_size", source.num_classes, optional=True)
    val, size = _get(cfg, "data.val_size"), _get(cfg, "data.train_size")
    total, title = source.train_images, source.title
    if val >= total:
        raise ConfigError(f"data.val_size={val}: must be < {total} ({title}'s training images)")
    if size is not None and size > total - val:
        raise ConfigError(f"data.train_size={size}: must be <= {total - val} ({title}'s {total} training "
                          f"images less data.val_size={val}) or null")
    for key in ("seed", "data.seed"):
        integer(cfg, key, 0)


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
        integer(cfg, f"model.{key}", minimum)
    for key, minimum in spec.optional_ints.items():
        integer(cfg, f"model.{key}", minimum, optional=True)
    for key, minimum in spec.int_lists.items():
        values = _get(cfg, f"model.{key}")
        if (not isinstance(values, list | tuple) or (key in spec.nonempty and not values)
                or any(not _is_int(v) or v < minimum for v in values)):
            need = "a non-empty list" if key in spec.nonempty else "a list"
            raise ConfigError(f"model.{key}={values!r}: must be {need} of integers >= {minimum}")
        if key in spec.lengths and len(values) != spec.lengths[key]:
            raise ConfigError(f"model.{key}={values!r}: must list exactly {spec.lengths[key]} integers")
    for key, allowed in spec.choices.items():
        choice(cfg, f"model.{key}", allowed)
    for key, value in spec.fixed.items():
        if _get(cfg, f"model.{key}") != value:
            raise ConfigError(f"model.{key}={m[key]!r}: must be {value!r} for {spec.target.rsplit('.', 1)[-1]}")
    try:
        plan = spec.plan(m)
    except ShapeError as e:
        raise ConfigError(f"model: {e}") from None
    if "padding_mode" in m:
        _check_padding_mode(plan, m)


def _check_target(cfg: Mapping, key: str) -> None:
    """A class named by `module.Name` exists: its module is found and defines Name at its top level, read
    from the source (importing it could load torch)."""
    target = _get(cfg, key)
    module, _, name = str(target).rpartition(".")
    try:
        spec = importlib.util.find_spec(module) if module else None
    except (ImportError, ValueError):
        spec = None
    origin = Path(spec.origin) if spec is not None and spec.origin else None
    if origin is None or not origin.is_file():
        raise ConfigError(f"{key}={target!r}: no module {module or target!r} to import it from (networks with a "
                          f"spec: {', '.join(SPECS)})")
    if origin.suffix == ".py" and name not in _top_level_names(origin):
        raise ConfigError(f"{key}={target!r}: {module} defines no {name!r}")


def _top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def check_model(cfg: Mapping) -> None:
    """The keys every network takes, then its spec's checks (a network without a spec is checked when built)."""
    for key, data_key in (("model.in_channels", "data.channels"), ("model.num_classes", "data.num_classes")):
        if _get(cfg, key) != _get(cfg, data_key):
            raise ConfigError(f"{key}={_get(cfg, key)!r}: must equal {data_key}={_get(cfg, data_key)} (the "
                              f"network takes what the dataset has)")
    size = _get(cfg, "data.image_size")
    integer(cfg, "model.input_size", size)
    if (_get(cfg, "model.input_size") - size) % 2:
        raise ConfigError(f"model.input_size={_get(cfg, 'model.input_size')}: must exceed data.image_size={size} "
                          f"by an even number (images are padded equally on each side)")
    spec = SPECS.get(str(_get(cfg, "model._target_")))
    if spec is not None:
        check_spec(cfg, spec)
    else:
        _check_target(cfg, "model._target_")


def check_augment(cfg: Mapping) -> None:
    integer(cfg, "augment.seed", 0)
    integer(cfg, "augment.max_shift", 0)
    _number(cfg, "augment.max_degrees", lambda v: 0 <= v <= 180, "in [0, 180]")
    lo_hi = _get(cfg, "augment.scale_range")
    if (not isinstance(lo_hi, list | tuple) or len(lo_hi) != 2
            or not all(_is_number(v) for v in lo_hi)
            or not 0 < lo_hi[0] <= lo_hi[1]):
        raise ConfigError(f"augment.scale_range={lo_hi!r}: must be [low, high] with 0 < low <= high")


def _check_family(cfg: Mapping, family: str) -> None:
    """A curve's {start, stop, step}: whole pixels for shifts, positive factors for scale, a bounded grid."""
    spec = _get(cfg, f"invariance.{family}")
    if spec is None:
        return
    kind = _is_int if family.startswith("shift") else _is_number
    if (not isinstance(spec, Mapping) or set(spec) != {"start", "stop", "step"}
            or not all(kind(v) for v in spec.values()) or spec["step"] <= 0 or spec["stop"] < spec["start"]
            or (family == "scale" and spec["start"] < MIN_STEP)):
        what = "integers" if kind is _is_int else "numbers"
        extra = f", start >= {MIN_STEP}" if family == "scale" else ""
        raise ConfigError(f"invariance.{family}={spec!r}: must be {{start, stop, step}} ({what}) with step > 0, "
                          f"stop >= start{extra}, or null (not measured)")
    points = (spec["stop"] - spec["start"]) / spec["step"]
    if not points < MAX_POINTS or spec["step"] < MIN_STEP:
        raise ConfigError(f"invariance.{family}={spec!r}: measures {points:.3g} values; at most {MAX_POINTS}, "
                          f"with step >= {MIN_STEP}")


def check_invariance(cfg: Mapping) -> None:
    """The suite's own keys (it runs after training: a bad value would waste the whole run)."""
    _bool(cfg, "invariance.enabled")
    if not _get(cfg, "invariance.enabled"):
        return
    _bool(cfg, "invariance.figures")
    choice(cfg, "invariance.shift_mode", SHIFT_MODES)
    choice(cfg, "invariance.canvas", CANVASES)
    integer(cfg, "invariance.num_images", 1, optional=True)
    integer(cfg, "invariance.batch_size", 1)
    integer(cfg, "invariance.consistency_max_shift", 0)
    integer(cfg, "invariance.equivariance_images", 1)
    integer(cfg, "invariance.seed", 0)
    for family in FAMILIES:
        _check_family(cfg, family)
    for key, ok in (("fgsm", _is_number), ("circular_shifts", _is_int), ("equivariance_shifts", _is_int)):
        values = _get(cfg, f"invariance.{key}")
        if not isinstance(values, list | tuple) or not all(ok(v) for v in values):
            kind = "numbers" if key == "fgsm" else "integers"
            raise ConfigError(f"invariance.{key}={values!r}: must be a list of {kind}")
    integer(cfg, "invariance.layers.images", 1)
    unknown = sorted(set(_get(cfg, "invariance.layers")) - {"images", "shifts", "rotations", "scales"})
    if unknown:
        raise ConfigError(f"invariance.layers.{unknown[0]}: not a setting of the layer profile (its settings: "
                          "images, rotations, scales, shifts)")
    for key, ok, kind in (("shifts", lambda v: _is_int(v) and v >= 1, "integers >= 1"),
                          ("rotations", _is_number, "numbers"), ("scales", lambda v: _is_number(v) and v > 0,
                                                                 "numbers > 0")):
        values = _get(cfg, f"invariance.layers.{key}")
        if not isinstance(values, list | tuple) or not all(ok(v) for v in values):
            raise ConfigError(f"invariance.layers.{key}={values!r}: must be a list of {kind}")
    measures = _get(cfg, "invariance.measures")
    if not isinstance(measures, list | tuple) or not all(isinstance(m, str) and m in MEASURES for m in measures):
        raise ConfigError(f"invariance.measures={measures!r}: must be a list of {', '.join(MEASURES)} (any of them)")


def check_trainer(cfg: Mapping) -> None:
    t = cfg["trainer"]
    integer(cfg, "trainer.max_epochs", 1)
    choice(cfg, "trainer.accelerator", ACCELERATORS)
    choice(cfg, "trainer.precision", PRECISIONS)
    accelerator = _get(cfg, "trainer.accelerator")
    if _get(cfg, "trainer.precision") == "16-mixed" and accelerator not in GPUS:
        raise ConfigError(f"trainer.precision=16-mixed: float16 autocast needs a GPU (trainer.accelerator="
                          f"{accelerator}); use bf16-mixed on a CPU")
    devices = _get(cfg, "trainer.devices")
    if t.get("strategy") is None:
        if devices != 1:
            raise ConfigError(f"trainer.devices={devices!r}: must be 1 without a DDP strategy; use "
                              f"trainer=ddp_cpu or trainer=ddp for more")
    else:
        if not (_is_int(devices) and (devices >= 1 or devices == -1)):
            raise ConfigError(f"trainer.devices={devices!r}: must be an integer >= 1, or -1 (every device)")
        if isinstance(t["strategy"], Mapping) and "process_group_backend" in t["strategy"]:
            choice(cfg, "trainer.strategy.process_group_backend", ("gloo", "nccl"))
        if "sync_batchnorm" in t:
            _bool(cfg, "trainer.sync_batchnorm")
    _number(cfg, "trainer.gradient_clip_val", lambda v: v >= 0, ">= 0", optional=True)
    choice(cfg, "trainer.gradient_clip_algorithm", CLIP_ALGORITHMS)
    integer(cfg, "trainer.accumulate_grad_batches", 1)
    integer(cfg, "trainer.log_every_n_steps", 1)
    integer(cfg, "trainer.num_sanity_val_steps", -1)
    for key in ("deterministic", "enable_progress_bar", "enable_model_summary"):
        _bool(cfg, f"trainer.{key}")


def check_optim(cfg: Mapping) -> None:
    o = cfg["optim"]
    _number(cfg, "optim.optimizer.lr", lambda v: v > 0, "> 0")
    if "weight_decay" in o["optimizer"]:
        _number(cfg, "optim.optimizer.weight_decay", lambda v: v >= 0, ">= 0")
    if "momentum" in o["optimizer"]:
        _number(cfg, "optim.optimizer.momentum", lambda v: 0 <= v < 1, "in [0, 1)")
    if "nesterov" in o["optimizer"]:
        _bool(cfg, "optim.optimizer.nesterov")
        if o["optimizer"]["nesterov"] and not o["optimizer"]["momentum"] > 0:
            raise ConfigError("optim.optimizer.nesterov=true: needs optim.optimizer.momentum > 0 (it is "
                              f"{o['optimizer']['momentum']})")
    if o["scheduler"] is not None:
        _number(cfg, "optim.scheduler.max_lr", lambda v: v > 0, "> 0")
        _number(cfg, "optim.scheduler.pct_start", lambda v: 0 < v < 1, "in (0, 1)")
    choice(cfg, "optim.interval", INTERVALS)
    _number(cfg, "optim.label_smoothing", lambda v: 0 <= v < 1, "in [0, 1)")


def check_callbacks(cfg: Mapping) -> None:
    """The checkpoint callback is how cnnexp selects (val/acc_best) and resumes (last.ckpt)."""
    for key, fixed in (("monitor", "val/acc"), ("mode", "max")):
        value = _get(cfg, f"callbacks.model_checkpoint.{key}")
        if value != fixed:
            raise ConfigError(f"callbacks.model_checkpoint.{key}={value!r}: must be {fixed!r} (cnnexp selects "
                              f"the checkpoint with the best validation accuracy)")
    integer(cfg, "callbacks.model_checkpoint.save_top_k", 1)
    _bool(cfg, "callbacks.model_checkpoint.save_last")
    _bool(cfg, "callbacks.model_checkpoint.auto_insert_metric_name")
    _str(cfg, "callbacks.model_checkpoint.filename", name_like=True)
    if "ema" in cfg["callbacks"]:
        _number(cfg, "callbacks.ema.decay", lambda v: 0 < v < 1, "in (0, 1)")


def check_loggers(cfg: Mapping) -> None:
    """One logger or more (an unknown name is Hydra's refusal, when the config is composed), each a class."""
    loggers = cfg.get("logger")
    if not isinstance(loggers, Mapping) or not loggers:
        given = f"={loggers!r}" if loggers else " (none chosen)"
        raise ConfigError(f"logger{given}: choose one or more of {', '.join(LOGGERS)} (logger=NAME or "
                          f"logger=[NAME,NAME])")
    for name, logger in loggers.items():
        if not isinstance(logger, Mapping) or "_target_" not in logger:
            raise ConfigError(f"logger.{name}={logger!r}: must be a logger's settings with its _target_ class")
        if "default_hp_metric" in logger:
            _bool(cfg, f"logger.{name}.default_hp_metric")


def check_training(cfg: Mapping) -> None:
    _bool(cfg, "resume")
    _bool(cfg, "test")
    integer(cfg, "threads", 1, optional=True)
    choice(cfg, "memory_format", MEMORY_FORMATS)
    check_eval_compile(cfg)
    for key in ("run_name", "task_name"):
        _str(cfg, key, name_like=True)
    check_trainer(cfg)
    check_optim(cfg)
    check_callbacks(cfg)
    check_loggers(cfg)
    check_optimized_metric(cfg)


def check_eval_compile(cfg: Mapping) -> None:
    value = _get(cfg, "eval_compile")
    if value != "auto" and not isinstance(value, bool):
        raise ConfigError(f"eval_compile={value!r}: must be auto, true or false")


def check_optimized_metric(cfg: Mapping) -> None:
    """A sweeper optimizes a validation (or cost) metric this run produces, never a test-set number."""
    metric = _get(cfg, "optimized_metric")
    if metric in SELECTABLE:
        return
    if isinstance(metric, str) and (metric in METRICS or metric in SUMMARY_METRICS):  # {a: 1} is no dict key
        raise ConfigError(f"optimized_metric={metric!r}: measured on the official test set, which reports and "
                          f"never selects; use val/acc_best (or one of {', '.join(SELECTABLE[1:])})")
    raise ConfigError(f"optimized_metric={metric!r}: not a metric of this run; one of {', '.join(SELECTABLE)}")


class _Read(dict):
    """A config section that remembers the keys the checks read: one that no check reads is unknown to
    cnnexp, and instantiating the section with it would fail (`+model.dropout=0.5`) or ignore it."""

    def __init__(self, section: Mapping, name: str):
        super().__init__(section)
        self.name, self.read = name, set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default


def _check_unknown_keys(cfg: Mapping, sections: Mapping[str, _Read]) -> None:
    for name, section in sections.items():
        if name == "model" and str(section.get("_target_")) not in SPECS:
            continue  # a network without a spec: its own constructor judges its keys
        if name == "invariance" and not section["enabled"]:
            continue
        unknown = sorted(set(section) - section.read - {"_target_"} - {p.split(".", 1)[1] for p in PLUMBING
                                                                        if p.startswith(f"{name}.")})
        if unknown:
            raise ConfigError(f"{name}.{unknown[0]}: not a setting of {name} (its settings: "
                              f"{', '.join(sorted(k for k in section.read if not k.startswith('_')))})")


def validate(cfg: Mapping) -> None:
    """Raise ConfigError for the first value in `cfg` (a resolved `train` config) that cannot work."""
    sections = {k: _Read(cfg[k], k) for k in ("data", "model", "augment", "invariance")
                if isinstance(cfg.get(k), Mapping)}
    cfg = _Read({**cfg, **sections}, "")  # the top level remembers too (tests check every key is read)
    try:
        check_data(cfg)
        check_model(cfg)
        check_augment(cfg)
        check_invariance(cfg)
        check_training(cfg)
        _check_unknown_keys(cfg, sections)
    except KeyError as e:
        raise ConfigError(f"missing config key {e.args[0]!r}") from None


def validate_eval(cfg: Mapping) -> None:
    """A resolved `eval` config: the dataset, the suite and the compile choice (the checkpoint decides the rest)."""
    check_data(cfg)
    check_invariance(cfg)
    check_eval_compile(cfg)


def validate_claims(cfg: Mapping) -> None:
    """A resolved `claims` config: the dataset and the profile (each training's own config is checked as a train
    config before the first one starts)."""
    check_data(cfg)
    seeds = _get(cfg, "profile.seeds")
    if not isinstance(seeds, list) or not all(_is_int(s) for s in seeds):
        raise ConfigError(f"profile.seeds={seeds!r}: must be a list of integer seeds")
    integer(cfg, "profile.workers", 1)


class Checked(dict):
    """A config resolved to plain data that its checks passed: what the heavy paths take."""


_PASSED: set[tuple[Callable, str]] = set()  # (check, content) pairs passed in this process


def _resolved(cfg: DictConfig) -> dict:
    try:
        return OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as e:
        raise ConfigError(f"{e.full_key}: {str(e).splitlines()[0]}") from None


def checked(cfg: DictConfig, check: Callable[[Mapping], None] = validate) -> Checked:
    """The one check every command runs: `cfg` resolved and validated by `check` (validate for a train config,
    validate_eval, validate_claims). A content already checked in this process (the command line's, before Hydra
    starts, then the job's in the run dir Hydra made) is not checked again: a check reads no path under the run
    dir, so it is a function of the content with the run dir left out."""
    cfg = cfg.copy()
    with open_dict(cfg):
        cfg.pop("hydra", None)  # composed with the command line, before Hydra runs: Hydra's own settings
    unplaced = cfg.copy()
    unplaced.paths.output_dir = ""
    content = _resolved(unplaced)
    key = (check, json.dumps(content, sort_keys=True, default=str))
    if key not in _PASSED:
        try:
            check(content)
        except KeyError as e:
            raise ConfigError(f"missing config key {e.args[0]!r}") from None
        _PASSED.add(key)
    placed = not OmegaConf.is_interpolation(cfg.paths, "output_dir") or HydraConfig.initialized()
    return Checked(_resolved(cfg) if placed else content)
