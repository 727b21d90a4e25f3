"""Undo, for runs on the CPU, the CUDA availability check that `import lightning` switches on.

Lightning sets PYTORCH_NVML_BASED_CUDA_CHECK=1 for the whole process, so that asking whether CUDA
is available never initializes CUDA in a process that may fork later. torch then answers
`torch.cuda.is_available()` by loading NVML, and until CUDA is initialized it caches nothing: on a
machine without an NVIDIA driver every call tries to load the library again (~70 us here, against
~2 us for torch's default check). Adam and AdamW ask on every optimizer step. A CPU run never
initializes CUDA, and cnnexp starts its other processes (DDP, sweep jobs) as fresh interpreters,
not forks, so torch's default check is safe there.
"""

from __future__ import annotations

import os

NVML_CHECK = "PYTORCH_NVML_BASED_CUDA_CHECK"


def use_default_cuda_check() -> None:
    """Call after `import lightning`, in a run whose devices are all CPUs."""
    os.environ.pop(NVML_CHECK, None)
