"""One process per run dir: a second cnnexp process on a dir in use (`resume=true` twice, the same
`hydra.run.dir`) is refused in one line, before it reads or writes anything there."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cnnexp.errors import ConfigError

LOCK = ".lock"


@contextmanager
def run_dir_lock(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on `out_dir` while the block runs. flock, not a pid file: the OS drops it
    when the process ends, even killed, so a crash never leaves a stale lock."""
    if os.environ.get("LOCAL_RANK", "0") != "0":  # DDP's other ranks work inside rank 0's run
        yield
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / LOCK, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"run dir {out_dir} is in use by another cnnexp process: wait for it to end, or use "
                              "another dir") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
