"""A Debian package as a verified source of files: fetched without installing it, its sha256 checked
before it is opened, its data archive read in Python (no dpkg, no root).

Routes to the .deb, in order: the Debian archive over HTTP (deb.debian.org), then `apt-get download`
(the machine's own mirror). The pinned sha256 is the one Debian's signed package index lists.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cnnexp.errors import DataUnavailable
from cnnexp.files import file_digest

ARCHIVE = "http://deb.debian.org/debian"
AR_MAGIC = b"!<arch>\n"
AR_HEADER = 60  # bytes: name 16, mtime 12, uid 6, gid 6, mode 8, size 10, magic 2


@dataclass(frozen=True)
class DebianPackage:
    name: str
    version: str
    pool: str  # the folder under the archive, e.g. pool/main/d/dataset-fashion-mnist
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.name}_{self.version}_all.deb"


def _http(package: DebianPackage, dest: Path) -> None:
    with urllib.request.urlopen(f"{ARCHIVE}/{package.pool}/{package.filename}", timeout=60) as response, \
            open(dest / package.filename, "wb") as out:
        shutil.copyfileobj(response, out)


def _apt(package: DebianPackage, dest: Path) -> None:
    proc = subprocess.run(["apt-get", "download", f"{package.name}={package.version}"], cwd=dest,
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "apt-get failed")


def fetch(package: DebianPackage, dest: Path) -> Path:
    """Download the package into `dest`; return its path once its sha256 matches."""
    failures = []
    for how, get in (("HTTP", _http), ("apt-get download", _apt)):
        try:
            get(package, dest)
        except Exception as e:  # each way's failure is reported, then the next is tried
            failures.append(f"{how}: {type(e).__name__}: {str(e).strip()[:200]}")
            continue
        deb = dest / package.filename
        digest = file_digest(deb, "sha256")
        if digest != package.sha256:
            deb.unlink()
            raise DataUnavailable(f"{package.filename} has sha256 {digest}, expected {package.sha256}; not opened")
        return deb
    raise DataUnavailable(f"{package.filename} could not be fetched ({'; '.join(failures)})")


def data_members(deb: Path, folder: str) -> dict[str, bytes]:
    """The files under `folder` in the package's data archive, by name, gzip members uncompressed."""
    with open(deb, "rb") as f:
        if f.read(len(AR_MAGIC)) != AR_MAGIC:
            raise DataUnavailable(f"{deb.name} is not a Debian package (no ar header)")
        while header := f.read(AR_HEADER):
            name, size = header[:16].decode().strip().rstrip("/"), int(header[48:58])
            if name.startswith("data.tar"):
                with tempfile.TemporaryFile() as data:
                    data.write(f.read(size))
                    data.seek(0)
                    with tarfile.open(fileobj=data, mode="r:*") as tar:
                        return {Path(m.name).name.removesuffix(".gz"): _read(tar, m) for m in tar.getmembers()
                                if m.isfile() and Path(m.name).parent == Path(folder)}
            f.seek(size + size % 2, 1)  # members are 2-byte aligned
    raise DataUnavailable(f"{deb.name} has no data archive")


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    raw = tar.extractfile(member).read()  # read into memory: nothing from the archive touches the disk
    return gzip.decompress(raw) if member.name.endswith(".gz") else raw


def fetch_files(package: DebianPackage, folder: str) -> dict[str, bytes]:
    """The files under `folder` of the verified package, read in a temporary dir that is then removed."""
    with tempfile.TemporaryDirectory() as tmp:
        return data_members(fetch(package, Path(tmp)), folder)
