"""Large inference batches reuse the process's freed memory instead of faulting in fresh pages."""

import ctypes
import resource
import sys

import pytest


def glibc_defaults() -> None:
    """glibc's default thresholds, pinned (which also stops its dynamic mmap threshold): whatever ran in this
    process before, every allocation above 128 KiB is then fresh pages from the kernel, given back on free."""
    from cnnexp.runtime import M_MMAP_THRESHOLD, M_TRIM_THRESHOLD

    mallopt = ctypes.CDLL("libc.so.6").mallopt
    for setting in (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD):
        assert mallopt(setting, 128 << 10)


def faults_per_pass(model, images, passes: int = 3) -> list[int]:
    """Minor page faults of each of `passes` inference passes at batch 1000, after a warm-up pass."""
    from cnnexp.invariance.metrics import predict

    predict(model, images, 1000)
    out = []
    for _ in range(passes):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        predict(model, images, 1000)
        out.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_inference_at_batch_1000_stops_faulting_in_pages():
    # 3 batches of 1000 through LeNet-5 touch ~100 MB of buffers. In this process, so the defaults are pinned (a
    # fresh process's dynamic threshold made the default side depend on the heap's layout at start): about 88k
    # faults a pass with them, 0 in most kept passes and under 2k in the first.
    import torch

    from cnnexp.classifier import Classifier, Preprocess
    from cnnexp.models.lenet5 import LeNet5
    from cnnexp.runtime import keep_freed_memory

    torch.manual_seed(0)
    model = Classifier(Preprocess([0.1307], [0.3081], size=32), LeNet5()).eval()
    images = torch.randint(0, 256, (3000, 1, 28, 28), dtype=torch.uint8)
    glibc_defaults()
    default = faults_per_pass(model, images)
    assert keep_freed_memory()
    kept = faults_per_pass(model, images)
    assert min(default) > 10_000 and max(kept) < 5_000, (default, kept)


def faults_reallocating(nbytes: int = 64 << 20) -> int:
    """Minor page faults while a freed block of `nbytes` is allocated again and written: near 0 where freed memory
    stays with the process, one per page where glibc returned it to the kernel."""
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    block = libc.malloc(nbytes)
    ctypes.memset(block, 1, nbytes)
    libc.free(block)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = libc.malloc(nbytes)
    ctypes.memset(block, 1, nbytes)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    libc.free(block)
    return faults


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_a_training_keeps_freed_memory_whatever_process_runs_it(train_cfg):
    """train() alone, as a claims worker or a notebook calls it, sets the allocator as the commands do."""
    from cnnexp.training.run import train

    glibc_defaults()
    assert faults_reallocating() > 10_000  # 64 MB: 16,384 pages, faulted in anew
    train(train_cfg())
    assert faults_reallocating() < 1_000
