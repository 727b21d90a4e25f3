"""Official Fashion-MNIST files. Routes: torchvision's download -> Debian's `dataset-fashion-mnist`
package (Expat licence; fetched, never installed, sha256-pinned); Debian re-gzipped the files, so
they are checked against the official md5s of the uncompressed files before they are written."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from cnnexp.data.datasets import SOURCES
from cnnexp.data.debian_package import DebianPackage, fetch_files
from cnnexp.data.verified import OfficialFiles, Route

FILES = OfficialFiles(SOURCES["fashion_mnist"].title, "FashionMNIST/raw", {
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
})
PACKAGE = DebianPackage("dataset-fashion-mnist", "0.0~git20200523.55506a9-1",
                        "pool/main/d/dataset-fashion-mnist",
                        "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0")
PACKAGE_FOLDER = "usr/share/datasets/fashion-mnist"


def torchvision_route(data_dir: Path) -> None:
    from torchvision.datasets import FashionMNIST  # here: checking the files that are there loads no torch

    # torchvision prints each mirror it tries; the caller reports the outcome instead.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        FashionMNIST(str(data_dir), train=True, download=True)
        FashionMNIST(str(data_dir), train=False, download=True)


def debian_route(data_dir: Path) -> None:
    FILES.write_verified(data_dir, fetch_files(PACKAGE, PACKAGE_FOLDER), PACKAGE.filename)


ROUTES: tuple[tuple[str, Route], ...] = (
    ("torchvision download", torchvision_route),
    (f"Debian package {PACKAGE.name} {PACKAGE.version} (fetched, not installed; sha256-pinned)", debian_route),
)

