"""Where a study lives: a journal file (a path) or a database (an RDB URL); every process and machine
given the same storage works on the same study, each asking it for its next trial.

A database keeps a heartbeat of each running trial: when a worker dies (SIGKILL, the OOM killer, a lost node),
the next worker to ask for a trial after the grace period fails its trial and queues it again once (RETRY).
Optuna's journal storage has no heartbeat (optuna 5.1: JournalStorage is no BaseHeartbeat).
"""

from __future__ import annotations

import os
import shlex
import sys
import warnings
from pathlib import Path

from optuna.exceptions import ExperimentalWarning
from optuna.storages import BaseStorage, JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend

from cnnexp.errors import ConfigError

with warnings.catch_warnings():  # "experimental" since optuna 2.8, and still the library's way
    warnings.simplefilter("ignore", ExperimentalWarning)
    RETRY = RetryHeartbeatStaleTrialCallback(max_retry=1)
# SQLAlchemy's URLs name their driver; postgresql:// alone means psycopg 3 (SQLAlchemy 2.1).
DRIVERS = "postgresql+psycopg2://... (pip install psycopg2-binary), mysql+pymysql://... (pip install pymysql)"


def is_url(storage: str) -> bool:
    return "://" in storage


def open_storage(storage: str, heartbeat: tuple[int, int]) -> BaseStorage:
    """The storage, opened (a new journal file or sqlite database is created), a database with its heartbeat
    (interval, grace period); ConfigError if it cannot be reached, read or written."""
    where = f"tune.storage={storage}"
    try:
        if is_url(storage):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)
                return RDBStorage(storage, heartbeat_interval=heartbeat[0], grace_period=heartbeat[1],
                                  heartbeat_stale_trial_callback=RETRY)
        path = Path(storage)
        path.parent.mkdir(parents=True, exist_ok=True)
        # The journal's lock is a file beside it, so its folder must be writable too.
        if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.R_OK | os.W_OK)):
            raise PermissionError(f"{path.parent if path.parent.exists() else path} is not writable")
        if path.is_file() and path.stat().st_size and not _ends_a_line(path):
            # Optuna takes a last line without its newline for a half-written record and appends after it.
            raise ConfigError(f"{where}: cannot be opened: its last line is cut off (not a journal, or a write "
                              f"killed mid-line); name another tune.storage")
        return JournalStorage(JournalFileBackend(str(path)))
    except ConfigError:
        raise
    except ImportError as e:  # optuna's own message does not say which driver is missing
        raise ConfigError(f"{where}: cannot be opened: its driver is not installed ({reason(e.__cause__ or e)}); "
                          f"name an installed one: {DRIVERS}") from None
    except Exception as e:  # SQLAlchemy's, OS and journal-format errors alike
        raise ConfigError(f"{where}: cannot be opened: {reason(e)}") from None


def reason(error: Exception) -> str:
    """An error's first line, without SQLAlchemy's link to its docs."""
    text = str(error).split("\n")[0].split(" (Background on this error")[0].strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _ends_a_line(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def dashboard_command(storage: str) -> str:
    """How to open the study in optuna-dashboard (it guesses a journal file from its path), installed
    beside this Python (.venv/bin/)."""
    return f"{Path(sys.executable).parent / 'optuna-dashboard'} {shlex.quote(storage)} --host 127.0.0.1 --port 8080"
