"""Where a study lives: a journal file (a path) or a database (an RDB URL); every process and machine
given the same storage works on the same study, each asking it for its next trial."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend

from cnnexp.errors import ConfigError


def is_url(storage: str) -> bool:
    return "://" in storage


def open_storage(storage: str) -> BaseStorage:
    """The storage, opened (a new journal file or sqlite database is created); ConfigError if it cannot be
    reached, read or written."""
    where = f"tune.storage={storage}"
    try:
        if is_url(storage):
            return RDBStorage(storage)
        path = Path(storage)
        path.parent.mkdir(parents=True, exist_ok=True)
        # The journal's lock is a file beside it, so its folder must be writable too.
        if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.R_OK | os.W_OK)):
            raise PermissionError(f"{path.parent if path.parent.exists() else path} is not writable")
        return JournalStorage(JournalFileBackend(str(path)))
    except ConfigError:
        raise
    except Exception as e:  # SQLAlchemy's, a missing database driver, OS and journal-format errors alike
        raise ConfigError(f"{where}: cannot be opened: {reason(e)}") from None


def reason(error: Exception) -> str:
    """An error's first line, without SQLAlchemy's link to its docs."""
    text = str(error).split("\n")[0].split(" (Background on this error")[0].strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def dashboard_command(storage: str) -> str:
    """How to open the study in optuna-dashboard (it guesses a journal file from its path), installed
    beside this Python (.venv/bin/)."""
    return f"{Path(sys.executable).parent / 'optuna-dashboard'} {shlex.quote(storage)} --host 127.0.0.1 --port 8080"

