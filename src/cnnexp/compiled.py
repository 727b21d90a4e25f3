"""Evaluation at compiled speed: torch.compile's graph of a classifier for inference, used where the
images to evaluate repay the compile (the test, the invariance suite, cnnexp-eval, the claims' runs).

The compiled forward is faster than the eager one with the same top-1, but a compile costs seconds: the
first in a process far more than another model of the same graph or a new batch shape. Measured by
benchmarks/eval_speed.py; figures in benchmarks/README.md ("Compiled evaluation").
"""

from __future__ import annotations

import copy
import importlib.util
import sys

from torch import nn

from cnnexp.classifier import use_memory_format

# Graphs one forward may keep: each model architecture and input size is one. A claims worker evaluates a dozen
# models in turn; past dynamo's default (8) every later one ran eagerly, its compile wasted.
RECOMPILE_LIMIT = 64
# Seconds a compile costs and seconds one image-pass saves: from benchmarks/eval_speed.py (benchmarks/README.md).
FIRST_COMPILE_S, LATER_COMPILE_S, SAVED_S_PER_IMAGE = 5.0, 0.3, 20e-6


def worth_compiling(passes: int) -> bool:
    """Whether `passes` image-passes save more than a compile in this process costs."""
    compiled_before = "torch._inductor.compile_fx" in sys.modules
    return passes * SAVED_S_PER_IMAGE > (LATER_COMPILE_S if compiled_before else FIRST_COMPILE_S)


def for_inference(model: nn.Module, passes: int, mode: str | bool = "auto") -> nn.Module:
    """A copy of `model` compiled for inference (static shapes: a batch size is compiled once) when `mode`
    is true, or "auto" and `passes` repay it; else `model` itself. The compiled module still exposes the
    model's attributes (`.preprocess`, `.net`) and parameters."""
    if mode is False or (mode == "auto" and not worth_compiling(passes)):
        return model
    if next(model.parameters()).is_cuda and importlib.util.find_spec("triton") is None:
        return model  # inductor generates GPU code with Triton: without it, eager
    import torch._dynamo  # loaded by torch.compile anyway

    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
    # A copy with NCHW weights: inductor's graph of it beats one of channels_last weights (benchmarks/eval_speed.py).
    return torch.compile(use_memory_format(copy.deepcopy(model), "contiguous"), dynamic=False)


def eager(model: nn.Module) -> nn.Module:
    """The module itself behind a compiled one: for gradients (FGSM) and forward hooks (feature maps)."""
    return getattr(model, "_orig_mod", model)
