"""Page faults measured in a process of its own, forked before any test ran in it (tests/prestarted.py): its heap
holds no large free chunks. In a test process, memory an earlier test freed serves the large requests whatever the
allocator's thresholds, and the defaults fault no more than the setting.

    python -m tests.allocator_probe inference | training CONFIG_JSON    (prints the faults as JSON)
"""

from __future__ import annotations

import ctypes
import json
import resource
import sys
from pathlib import Path

from cnnexp.runtime import M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, keep_freed_memory


def faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def glibc_defaults() -> None:
    """glibc's default thresholds, pinned (which also stops its dynamic mmap threshold): every allocation above
    128 KiB is then fresh pages from the kernel, given back on free."""
    mallopt = ctypes.CDLL("libc.so.6").mallopt
    for setting in (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD):
        assert mallopt(setting, 128 << 10)


def faults_reallocating(nbytes: int = 64 << 20) -> int:
    """Minor page faults while a freed block of `nbytes` is allocated again and written: near 0 where freed memory
    stays with the process, one per page where glibc returned it to the kernel."""
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    block = libc.malloc(nbytes)
    ctypes.memset(block, 1, nbytes)
    libc.free(block)
    before = faults()
    block = libc.malloc(nbytes)
    ctypes.memset(block, 1, nbytes)
    after = faults()
    libc.free(block)
    return after - before


def inference(passes: int = 3) -> dict[str, list[int]]:
    """Faults of each inference pass at batch 1000 (after a warm-up pass): with the defaults, then with the setting."""
    import torch

    from cnnexp.classifier import Classifier, Preprocess
    from cnnexp.invariance.metrics import predict
    from cnnexp.models.lenet5 import LeNet5

    torch.manual_seed(0)
    model = Classifier(Preprocess([0.1307], [0.3081], size=32), LeNet5()).eval()
    images = torch.randint(0, 256, (3000, 1, 28, 28), dtype=torch.uint8)

    def per_pass() -> list[int]:
        predict(model, images, 1000)
        out = []
        for _ in range(passes):
            before = faults()
            predict(model, images, 1000)
            out.append(faults() - before)
        return out

    glibc_defaults()
    default = per_pass()
    assert keep_freed_memory()
    return {"default": default, "kept": per_pass()}


def training(config_json: str) -> dict[str, int]:
    """Faults reallocating a freed 64 MB block with the defaults, then after train() alone on the config."""
    from omegaconf import OmegaConf

    from cnnexp.training.run import train

    glibc_defaults()
    default = faults_reallocating()
    train(OmegaConf.create(json.loads(Path(config_json).read_text())))
    return {"default": default, "after_train": faults_reallocating()}


if __name__ == "__main__":
    probe = {"inference": inference, "training": training}[sys.argv[1]]
    print(json.dumps(probe(*sys.argv[2:])))
