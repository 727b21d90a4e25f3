"""The config fuzzer: override sets for cnnexp-train drawn from every group and key, and the property each
must satisfy. tests/test_config_fuzz.py runs a bounded number in `make test`; `make fuzz` a long campaign.

The property: the command either refuses the config before Hydra starts (so before torch is imported and
before a run dir exists), in one line naming a key of the config, or the config builds its data and model
and completes a training step, a validation batch, the test and the invariance suite on a tiny subset
without an exception. Not drawn: the `_target_`s and paths (cnnexp's PLUMBING), accelerators and trainers
this machine lacks (a GPU, DDP's processes: tests/test_launchers.py), CIFAR-10 (its files are placed by
hand), and extra kwargs for library classes (optimizers, callbacks, loggers), whose own checks apply.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from omegaconf import DictConfig, OmegaConf, open_dict

from cnnexp.cli.common import check_overrides
from cnnexp.config import CONF_DIR, compose
from cnnexp.data.datasets import DATASETS, SOURCES
from cnnexp.errors import USER_ERRORS, TrainingDiverged
from cnnexp.invariance import CANVASES, SHIFT_MODES
from cnnexp.invariance.measures import SUMMARY_METRICS
from cnnexp.models.specs import ACTIVATIONS, HEADS, PADDING_MODES, POOLINGS, ROTATION_POOLS, SPECS
from cnnexp.training import METRICS
from cnnexp.validate import CLIP_ALGORITHMS, INTERVALS, MEMORY_FORMATS, PLUMBING, PRECISIONS, Checked, checked

NOT_DRAWN = {"data": ("cifar10",), "trainer": ("gpu", "ddp", "ddp_cpu")}
GROUPS = {g: tuple(sorted(p.stem for p in (Path(CONF_DIR) / g).glob("*.yaml") if p.stem not in NOT_DRAWN.get(g, ())))
          for g in ("data", "model", "augment", "optim", "trainer", "invariance", "callbacks")}
# Sections whose unknown keys cnnexp itself refuses (the others are library classes' kwargs).
OWN_SECTIONS = ("data", "model", "augment", "invariance")
# String values worth drawing for a key besides junk: every allowed value, and near misses.
CHOICES = {
    "data.name": (*DATASETS, "imagenet"), "model._target_": (*SPECS, "cnnexp.models.vgg.VGG"),
    "model.pooling": POOLINGS, "model.activation": (*ACTIVATIONS, "gelu"), "model.padding_mode": PADDING_MODES,
    "model.head": HEADS, "model.rotation_pool": ROTATION_POOLS, "trainer.accelerator": ("auto", "cpu", "tpu"),
    "trainer.precision": (*PRECISIONS, "16", "bf16-true"), "trainer.gradient_clip_algorithm": CLIP_ALGORITHMS,
    "optim.interval": INTERVALS, "invariance.shift_mode": SHIFT_MODES, "invariance.canvas": CANVASES,
    "memory_format": MEMORY_FORMATS, "eval_compile": ("auto", "always"),
    "optimized_metric": (*METRICS, *SUMMARY_METRICS[:3], "val/acc"),
    "callbacks.model_checkpoint.monitor": ("val/acc", "val/loss", "train/loss"),
    "callbacks.model_checkpoint.mode": ("max", "min"), "callbacks.model_checkpoint.save_last": ("link",),
}
JUNK = (None, True, False, "abc", "", "a/b", "..", [], [1, 2], {"a": 1}, math.nan, math.inf, -math.inf, -1, 0, 1, 2,
        10**12, 1e308, -1e-300, 0.5, "${seed}", "${nope}")
# Sizes where data, batch and model meet: the boundaries of the splits and of the feature maps.
EDGES = {
    "data.train_size": (9, 10, 11, 20, 100, 54_990, 54_999, 55_000, 55_001, 59_999),
    "data.val_size": (0, 1, 2, 5_000, 59_989, 59_990, 59_999, 60_000),
    "data.batch_size": (1, 7, 64, 4_096, 60_000, 10**9), "data.eval_batch_size": (1, 999, 10**9),
    "model.kernel_size": (1, 2, 3, 7, 9, 13, 28, 33), "model.stride": (1, 2, 3, 4, 8, 32),
    "model.padding": (0, 1, 2, 3, 5, 15, 16, 17, 40), "model.pool_size": (1, 2, 3, 5, 8, 14, 30),
    "model.pool_stride": (None, 1, 2, 3, 7), "model.input_size": (27, 28, 30, 32, 36, 64, 100),
    "invariance.num_images": (None, 1, 3, 10_000, 10_001), "invariance.batch_size": (1, 3, 10**9),
    "trainer.accumulate_grad_batches": (1, 2, 3, 1000), "threads": (None, 1, 2, 3, 64),
}
# The tiny run's subset when a case takes every training image (the first batches of an epoch are used).
TINY_TRAIN = 200


@dataclass(frozen=True)
class Case:
    overrides: tuple[str, ...]


@dataclass
class Outcome:
    # accepted | refused | diverged (the loss guard stopped the step in one line: no config check can know)
    # | refused_late (another one-line error after torch: validation missed it) | failed
    kind: str
    message: str = ""


def render(value: Any) -> str:
    """`value` in Hydra's override grammar."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return value if value.startswith("${") else "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, list | tuple):
        return "[" + ",".join(render(v) for v in value) + "]"
    return "{" + ",".join(f"{k}:{render(v)}" for k, v in value.items()) + "}"


def walk(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict) and node:
        for k, v in node.items():
            yield from walk(v, f"{prefix}.{k}" if prefix else str(k))
    else:
        yield prefix, node


def plumbing(key: str) -> bool:
    return key.startswith(("hydra.", "paths.")) or any(key == p or key.endswith(f".{p}") for p in PLUMBING)


@cache
def _leaves(choice: str | None) -> dict[str, Any]:
    """(key -> resolved value) of every leaf of the config with this one group choice, paths excepted."""
    cfg = compose("train", [choice] if choice else [])
    with open_dict(cfg):
        cfg.paths.output_dir = ""
    resolved = OmegaConf.to_container(cfg, resolve=True)
    return {k: v for k, v in walk(resolved) if not k.startswith("paths.")}


def leaves(groups: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
    """The fuzzable leaves of the config these group choices compose (each group's own, composed once)."""
    fields = _leaves(None)
    for choice in groups:
        group = choice.split("=")[0]
        fields = {k: v for k, v in fields.items() if k.split(".")[0] != group}
        fields |= {k: v for k, v in _leaves(choice).items() if k.split(".")[0] == group}
    return tuple((k, v) for k, v in fields.items() if not plumbing(k))


def values_near(key: str, value: Any, draw_junk: bool = False) -> st.SearchStrategy:
    """Values a user might type for `key` (whose default is `value`): valid ones and edges (3 in 4), or junk."""
    options = []
    if key in CHOICES:
        options.append(st.sampled_from(CHOICES[key]))
    if key in EDGES:
        options.append(st.sampled_from(EDGES[key]))
    if isinstance(value, bool):
        options.append(st.booleans())
    elif isinstance(value, int):
        options.append(st.integers(-2, max(4, 2 * value + 2)))
    elif isinstance(value, float):
        options.append(st.floats(-1.0, 2 * abs(value) + 1.0))
    elif isinstance(value, list):
        element = st.integers(-1, 40) if all(isinstance(v, int) for v in value) else st.floats(-0.5, 1.5)
        options.append(st.lists(element, max_size=len(value) + 2))
        options.append(st.just(value[:-1] if value else [0]))
    elif isinstance(value, dict):
        options.append(st.fixed_dictionaries({k: values_near(f"{key}.{k}", v) for k, v in value.items()}))
    if not options or draw_junk:
        return st.sampled_from(JUNK)
    return st.one_of(options)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """Group choices (sometimes an unknown one), then 1-4 keys set, added, removed or mistyped."""
    groups = tuple(f"{g}={draw(st.sampled_from(opts))}" for g, opts in GROUPS.items() if draw(st.booleans()))
    if draw(st.integers(0, 19)) == 0:
        groups += (f"{draw(st.sampled_from(tuple(GROUPS)))}=nonesuch",)
        return Case(groups)
    fields = leaves(groups)
    overrides = list(groups)
    for _ in range(draw(st.sampled_from((1, 1, 2, 2, 3, 4)))):
        key, value = draw(st.sampled_from(fields))
        kind = draw(st.integers(0, 39))
        if kind == 0:
            overrides.append(f"~{key}")
        elif kind == 1 and key.split(".")[0] in OWN_SECTIONS:
            overrides.append(f"+{key.split('.')[0]}.bogus_key={render(draw(st.sampled_from(JUNK)))}")
        elif kind == 2:
            overrides.append(f"{key}x=1")  # a typo in the key
        elif kind == 3:
            overrides.append(f"{key}=[1,")  # malformed
        else:
            overrides.append(f"{key}={render(draw(values_near(key, value, draw_junk=kind % 4 == 0)))}")
    return Case(tuple(overrides))


@cache
def default_keys() -> frozenset[str]:
    """Every key of the default config and its sections: `model`, `model.kernel_size`, ..."""
    keys = set()
    for key, _ in walk(OmegaConf.to_container(compose("train"), resolve=False)):
        parts = key.split(".")
        keys.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return frozenset(keys)


def check(case: Case) -> str | DictConfig:
    """cnnexp-train's checks of `case`: its refusal on stderr, or the config it composed and accepted."""
    err, accepted = io.StringIO(), []

    def keep(cfg: DictConfig) -> None:
        checked(cfg)
        accepted.append(cfg)

    try:
        with contextlib.redirect_stderr(err):
            check_overrides("train", "cnnexp-train", ["cnnexp-train", *case.overrides], keep)
    except SystemExit as e:
        return f"exit status {e.code}: {err.getvalue()}" if e.code != 2 else err.getvalue()
    return accepted[0]


def check_refusal(case: Case, text: str) -> str:
    """The refusal is one line that starts as every cnnexp error does and names a key of the config."""
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cnnexp-train: error: "), f"not one line: {text!r}"
    message = lines[0].removeprefix("cnnexp-train: error: ")
    named = {o.lstrip("+~").split("=", 1)[0] for o in case.overrides}
    known = named | {k.split(".")[0] for k in named} | default_keys()
    assert any(k in message for k in known if k), f"names no key of the config: {message!r}"
    return message


def tiny_run(cfg: DictConfig, data_dir: Path, work: Path) -> None:
    """Build the config's data and model; one epoch of one training step (accumulated batches included) and
    one validation batch, the test on 64 images and the invariance suite on at most 8: a real run's code
    paths, each once."""
    import torch

    from cnnexp.training.run import build, fit, record, test

    cfg = cfg.copy()
    with open_dict(cfg):
        del cfg["hydra"]
        cfg.paths.data_dir = str(data_dir)
        cfg.paths.output_dir = str(work)
        cfg.trainer.max_epochs = 1
        if cfg.data.train_size is None:  # what validation left after val_size, if fewer than TINY_TRAIN
            cfg.data.train_size = min(TINY_TRAIN, SOURCES[cfg.data.name].train_images - cfg.data.val_size)
        cfg.trainer.limit_train_batches = cfg.trainer.accumulate_grad_batches
        cfg.trainer.limit_val_batches = 1
        if cfg.invariance.enabled:
            cfg.invariance.num_images = min(cfg.invariance.num_images or 8, 8)
            cfg.invariance.equivariance_images = min(cfg.invariance.equivariance_images, 8)
    config = Checked(OmegaConf.to_container(cfg, resolve=True))  # checked as the user gave it, before the shrinking
    threads = torch.get_num_threads()
    try:
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            run = build(config)
            fit(run)
            images, labels = run.datamodule.splits["test"]
            run.datamodule.splits["test"] = (images[:64], labels[:64])
            record(run, test(run), 0.0)
    finally:
        torch.set_num_threads(threads)  # a case may set its own


def outcome(case: Case, data_dir: Path) -> Outcome:
    """What cnnexp does with `case`; `failed` carries what went wrong."""
    try:
        checked = check(case)
    except Exception as e:  # the checks themselves raised: the user sees a traceback
        return Outcome("failed", f"in validation: {type(e).__name__}: {' '.join(str(e).split())[:300]}")
    if isinstance(checked, str):
        try:
            return Outcome("refused", check_refusal(case, checked))
        except AssertionError as e:
            return Outcome("failed", f"bad refusal: {e}")
    work = Path(tempfile.mkdtemp(prefix="cnnexp-fuzz-"))
    try:
        tiny_run(checked, data_dir, work)
        return Outcome("accepted")
    except USER_ERRORS as e:
        message = str(e)
        late = "diverged" if isinstance(e, TrainingDiverged) else "refused_late"
        return Outcome(late if "\n" not in message else "failed", message)
    except Exception as e:  # the property's counterexample: anything that is not a one-line refusal
        return Outcome("failed", f"{type(e).__name__}: {' '.join(str(e).split())[:300]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
