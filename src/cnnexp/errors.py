"""Errors caused by the user's input: their message is the one line the user sees (exit status 2).

Plain Python, no heavy imports: the commands catch these before torch is loaded.
"""


class ConfigError(ValueError):
    """A config value that cannot work; names the key, the value given and what is allowed."""


class DataUnavailable(RuntimeError):
    """The dataset could not be found, fetched or verified; says what was tried and what to do."""


class CheckpointError(ValueError):
    """The file is missing, unreadable, not a cnnexp checkpoint, or does not fit its model."""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; names the epoch, the step and the likeliest setting at fault."""


USER_ERRORS = (ConfigError, DataUnavailable, CheckpointError, TrainingDiverged)


class Interrupted(Exception):
    """SIGINT or SIGTERM stopped the run; the message says where and how to continue."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_status = 128 + signum  # the shell's convention for a process ended by a signal
