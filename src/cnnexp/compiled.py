"""Evaluation at compiled speed: torch.compile's graph of a classifier for inference, used where the
images to evaluate repay the compile (the test, the invariance suite, cnnexp-eval, the claims' runs).

Measured on the 2-core CPU with LeNet-5 at batch 1000 (benchmarks/eval_speed.py, 2026-12-06): the
compiled forward runs 1.66x the eager NCHW one with the same top-1 on all 10,000 test images (logits
within 6e-6); a compile costs about 4-5 s in a process that has not compiled yet (inductor's imports,
its on-disk cache warm; about 45 s the first time on a new machine), 0.04 s for another model of the
same graph and about 0.3 s for a new batch shape.
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
# Seconds a compile costs (see above) and seconds one image-pass saves (1/19.5k - 1/32.7k img/s).
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
    # A copy with NCHW weights: inductor's graph runs 1.66x eager NCHW on it, 1.53x on channels_last weights.
    return torch.compile(use_memory_format(copy.deepcopy(model), "contiguous"), dynamic=False)


def eager(model: nn.Module) -> nn.Module:
    """The module itself behind a compiled one: for gradients (FGSM) and forward hooks (feature maps)."""
    return getattr(model, "_orig_mod", model)
