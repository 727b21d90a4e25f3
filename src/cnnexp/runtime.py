"""Process settings for one run: torch threads, the allocator, the CUDA check, Lightning's console output.

Each is process-wide, so the commands set them once, before their job. Plain Python here; torch and
Lightning are touched only by the functions that need them.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import warnings

from hydra.core.hydra_config import HydraConfig

# mallopt parameters, from glibc's malloc.h
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
NVML_CHECK = "PYTORCH_NVML_BASED_CUDA_CHECK"


def keep_freed_memory(mmap_threshold: int = 256 << 20, trim_threshold: int = 1 << 30) -> bool:
    """Serve allocations below `mmap_threshold` from the heap and keep up to `trim_threshold` of freed heap.

    glibc serves large requests with fresh pages from the kernel and returns them on free (its own
    mmap threshold stops at 32 MB). A LeNet-5 forward pass at batch 1000 frees buffers of up to ~80 MB,
    so every evaluation batch faulted its pages in anew; with both limits raised it faults none and
    evaluates much faster, training at the same speed (benchmarks/README.md, "Allocator"). The cost: up
    to `trim_threshold` of freed memory stays with the process.
    False where malloc is not glibc's (then nothing changes).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(M_TRIM_THRESHOLD, trim_threshold))


def _launcher_cores() -> int | None:
    """Cores one sweep job may use: the joblib launcher shares the machine out among its parallel
    jobs (2 jobs x 2 threads on 2 cores fight each other and finish later than one after the other);
    submitit gives each job `cpus_per_task`. None: no such limit (a single run, the basic launcher)."""
    if not HydraConfig.initialized():
        return None
    launcher = HydraConfig.get().launcher
    target = str(launcher.get("_target_", ""))
    if "submitit" in target:
        return launcher.get("cpus_per_task")
    if "joblib" not in target:
        return None
    return cores_per_job(launcher.get("n_jobs", -1))


def cores_per_job(n_jobs: int | None) -> int:
    """This machine's cores shared among `n_jobs` parallel processes (None or < 1: one per core)."""
    cores = os.cpu_count() or 1
    n_jobs = cores if n_jobs is None or n_jobs < 1 else n_jobs
    return max(1, cores // n_jobs)


def threads_per_job(requested: int | None, processes: int = 1) -> int | None:
    """`threads` if set; else the job's cores (see `_launcher_cores`) shared among its `processes`
    (DDP on the CPU runs one process per device on the same cores)."""
    if requested:
        return requested
    cores = _launcher_cores()
    if cores is None and processes == 1:
        return None
    return max(1, (cores or os.cpu_count() or 1) // processes)


def cpu_processes(trainer_cfg) -> int:
    """Processes a CPU run starts on this machine: `devices` under a DDP strategy, else 1."""
    if trainer_cfg.get("strategy") is None or trainer_cfg["accelerator"] != "cpu":
        return 1
    devices = trainer_cfg["devices"]
    return devices if isinstance(devices, int) and devices > 0 else os.cpu_count() or 1


def use_default_cuda_check() -> None:
    """Call after `import lightning`, in a run whose devices are all CPUs.

    Lightning sets PYTORCH_NVML_BASED_CUDA_CHECK=1 so that asking about CUDA never initializes it in
    a process that may fork; torch then answers `torch.cuda.is_available()` by loading NVML again on
    every call on a machine without a driver (many times torch's default check: benchmarks/README.md,
    "CUDA check"), and Adam asks every step.
    cnnexp starts its other processes (DDP, sweep jobs) as fresh interpreters, so the default is safe.
    """
    os.environ.pop(NVML_CHECK, None)
    # Compiled evaluation imports torch.utils.cpp_extension, which warns "No CUDA runtime is found" on a CPU
    # machine that has a CUDA toolkit installed: nothing a CPU run can act on.
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)


class _DropTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Tip:" not in record.getMessage()


def quiet_lightning() -> None:
    """Call after `import lightning`: each message once, no advertising, no known noise.

    Lightning gives its `lightning`, `lightning.pytorch` and `lightning.fabric` loggers a console
    handler each (the last two only when the root logger has none yet, i.e. outside Hydra), so a
    message could come out two or three times. One prints: the root logger's under Hydra (it also
    writes the run's log file), else the `lightning` logger's.
    """
    root_has_handlers = logging.getLogger().hasHandlers()
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logger = logging.getLogger(name)
        if name != "lightning" or root_has_handlers:
            for handler in list(logger.handlers):
                if type(handler) is logging.StreamHandler:
                    logger.removeHandler(handler)
        logger.propagate = True
    for handler in logging.getLogger().handlers + logging.getLogger("lightning").handlers:
        handler.addFilter(_DropTips())
    # Lightning 2.6 vs torch 2.14: an internal deprecation that users cannot act on.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    # Augmentation lives in the LightningModule's hook on purpose (it is part of the training step).
    warnings.filterwarnings("ignore", message=r".*overridden `on_after_batch_transfer`.*")
    # resume=true continues in the run's own checkpoint dir: that it holds checkpoints is the point.
    warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty.*")
