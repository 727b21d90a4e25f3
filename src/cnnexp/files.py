"""Small file helpers: hashes and atomic writes (a crash never leaves a half-written file)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import yaml


def file_digest(path: Path, algorithm: str = "md5") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_json(path: Path, data: dict) -> None:
    """Pretty JSON, written atomically (metrics.json, invariance.json)."""
    atomic_write_bytes(path, (json.dumps(data, indent=2) + "\n").encode())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same directory, then rename over `path`."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_checked(path: Path, load: Callable[[str], object], kind: type) -> tuple[object, str]:
    """(content, "") or (None, why it cannot be used): one corrupted file must not hide the other jobs."""
    try:
        content = load(path.read_text())
    except (OSError, ValueError, yaml.YAMLError) as e:  # JSON errors and bad UTF-8 are ValueErrors
        return None, f"{path.name} is unreadable ({type(e).__name__})"
    if not isinstance(content, kind) or (kind is list and not all(isinstance(o, str) for o in content)):
        return None, f"{path.name} is not a {kind.__name__} of {'overrides' if kind is list else 'metrics'}"
    return content, ""
