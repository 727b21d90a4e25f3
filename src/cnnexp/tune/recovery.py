"""Trials whose worker died in mid-trial (SIGKILL, the OOM killer, a lost node): failed and queued again once,
and what the command that lost them still owes of its `tune.n_trials`.

Each trial records the command whose worker ran it (COMMAND), so that a command counts its own trials even
while other commands work on the same study.
"""

from __future__ import annotations

import os
import socket
import time
import warnings

import optuna
from optuna.exceptions import ExperimentalWarning, UpdateFinishedTrialError
from optuna.trial import FrozenTrial, TrialState

from cnnexp.tune.storage import RETRY

COMMAND = "command"  # the user attribute: a retry inherits it until the worker that runs it records its own


def command_tag() -> str:
    """A name for this command, unique across machines and time: its host, process and start."""
    return f"{socket.gethostname()}-{os.getpid()}-{time.strftime('%Y%m%d%H%M%S')}"


def fail_dead(study: optuna.Study, command: str) -> list[int]:
    """Fail this command's trials still RUNNING once all its workers have ended (so they died with their
    worker) and queue each again once, as a database's heartbeat would after its grace period: the numbers."""
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.user_attrs.get(COMMAND) != command:
            continue
        try:
            frozen = study.tell(trial.number, state=TrialState.FAIL)
        except (ValueError, UpdateFinishedTrialError):  # another command's worker failed it first, by heartbeat
            continue
        RETRY(study, frozen)
        failed.append(trial.number)
    return failed


def retried(trials: list[FrozenTrial]) -> set[int]:
    """The trials that died and were queued again (by a heartbeat or by fail_dead)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        return {number for t in trials for number in RETRY.retry_history(t)}


def lost(study: optuna.Study, command: str) -> set[int]:
    """This command's trials that died with their worker and were queued again."""
    trials = study.get_trials(deepcopy=False)
    return {t.number for t in trials if t.user_attrs.get(COMMAND) == command} & retried(trials)


def owed(study: optuna.Study, command: str, n_trials: int) -> int:
    """How many of its `n_trials` the command has still to run: a trial that died and was queued again does not
    count (its retry does, whoever runs it); one that failed in its worker, or died after its retry, does."""
    trials = study.get_trials(deepcopy=False)
    gone = retried(trials)
    done = [t for t in trials if t.user_attrs.get(COMMAND) == command and t.state.is_finished()
            and t.number not in gone]
    return max(n_trials - len(done), 0)
