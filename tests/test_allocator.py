"""Large inference batches reuse the process's freed memory instead of faulting in fresh pages."""

import ctypes
import resource
import statistics
import subprocess
import sys

import pytest

SCRIPT = """
import resource, torch
from cnnexp.runtime import keep_freed_memory
from cnnexp.classifier import Classifier, Preprocess
from cnnexp.invariance.metrics import predict
from cnnexp.models.lenet5 import LeNet5
if {keep}:
    assert keep_freed_memory()
torch.manual_seed(0)
model = Classifier(Preprocess([0.1307], [0.3081], size=32), LeNet5()).eval()
images = torch.randint(0, 256, (3000, 1, 28, 28), dtype=torch.uint8)
predict(model, images, 1000)
for _ in range(3):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    predict(model, images, 1000)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(keep: bool, processes: int = 3) -> list[int]:
    """Minor page faults of each of three passes after a warm-up, in each of `processes` fresh processes
    (started together: most of each one's time is importing torch)."""
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT.format(keep=keep)], stdout=subprocess.PIPE, text=True)
             for _ in range(processes)]
    outs = [p.communicate()[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    return [int(n) for out in outs for n in out.split()]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_inference_at_batch_1000_stops_faulting_in_pages():
    # 3 batches of 1000 through LeNet-5 touch ~100 MB of buffers. Whether a pass faults in fresh pages
    # depends on the heap's layout at start, so each side is three processes of three passes: glibc's
    # defaults gave 12k-42k faults in most passes (0 in some processes), the setting ~2k in most, with a rare
    # pass above 5k under a loaded machine. So: some default pass faults heavily, the median kept pass does not.
    default, kept = page_faults(False), page_faults(True)
    assert max(default) > 10_000 and statistics.median(kept) < 5_000, (default, kept)


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
    from cnnexp.runtime import M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
    from cnnexp.training.run import train

    mallopt = ctypes.CDLL("libc.so.6").mallopt
    for setting in (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD):  # glibc's defaults, whatever ran in this process before
        assert mallopt(setting, 128 << 10)
    assert faults_reallocating() > 10_000  # 64 MB: 16,384 pages, faulted in anew
    train(train_cfg())
    assert faults_reallocating() < 1_000
