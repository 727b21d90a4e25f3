"""Official dataset files: used if present and intact, else fetched by the routes given, else one line
that says how to get them. A file is only ever written after its bytes match the official md5, and
atomically (routes write through `write_verified`)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cnnexp.errors import DataUnavailable
from cnnexp.files import atomic_write_bytes, file_digest

Route = Callable[[Path], None]  # data_dir -> None: puts the files in place or raises
# Files this process found intact, as (path, inode, size, mtime, ctime): a process that trains many times (a claims or
# tune worker, a sweep's jobs in one process) hashes each file once. A file written since has another inode (the
# routes replace files atomically) or another ctime, which no program can set, and is hashed anew.
_intact: set[tuple[str, int, int, int, int]] = set()


@dataclass(frozen=True)
class OfficialFiles:
    """A dataset's files as torchvision lays them out under the data dir, with their official md5s."""

    name: str
    folder: str  # relative to the data dir, e.g. "MNIST/raw"
    md5: Mapping[str, str]  # file name -> md5 of the official (uncompressed) file

    def dir(self, data_dir: str | Path) -> Path:
        return Path(data_dir) / self.folder

    def problems(self, data_dir: str | Path) -> list[str]:
        """What is wrong with the files (empty when every one matches its official md5)."""
        out = []
        for name, md5 in self.md5.items():
            path = self.dir(data_dir) / name
            if not path.is_file():
                out.append(f"{name} missing")
                continue
            stat = path.stat()
            key = (str(path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
            if key in _intact:
                continue
            if file_digest(path) != md5:
                out.append(f"{name} has the wrong md5 (corrupted or truncated)")
            else:
                _intact.add(key)
        return out

    def write_verified(self, data_dir: str | Path, contents: Mapping[str, bytes], source: str) -> None:
        """Write every official file from `contents`, after checking all their md5s first."""
        for name, md5 in self.md5.items():
            if name not in contents:
                raise DataUnavailable(f"{source} has no {name}")
            if hashlib.md5(contents[name]).hexdigest() != md5:
                raise DataUnavailable(f"{name} from {source} does not match the official md5")
        self.dir(data_dir).mkdir(parents=True, exist_ok=True)
        for name in self.md5:
            atomic_write_bytes(self.dir(data_dir) / name, contents[name])


def ensure(files: OfficialFiles, data_dir: str | Path, routes: tuple[tuple[str, Route], ...]) -> Path:
    """Return the folder holding the verified official files, trying `routes` in order if needed."""
    folder = files.dir(data_dir)
    found = files.problems(data_dir)
    if not found:
        return folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataUnavailable(f"cannot create the data dir {folder}: {e.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise DataUnavailable(f"the data dir {folder} is not writable; set paths.data_dir to a writable folder")
    tried = [f"files in {folder}: {'; '.join(found)}"]
    for name, route in routes:
        try:
            route(Path(data_dir))
        except Exception as e:  # each route's failure is reported, then the next is tried
            tried.append(f"{name}: {type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}")
            continue
        found = files.problems(data_dir)
        if not found:
            return folder
        tried.append(f"{name}: {'; '.join(found)}")
    raise DataUnavailable(f"{files.name} is not available. Tried: " + " | ".join(tried)
                          + f". Put the official files ({', '.join(files.md5)}) in {folder} by hand.")
