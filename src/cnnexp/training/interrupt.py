"""SIGINT and SIGTERM stop a training cleanly: during fit at the next batch boundary (no checkpoint or event
file is cut mid-write, and checkpoints are atomic anyway), at once before or after it. The run dir keeps
its last checkpoint, and `resume=true` continues from it to the result of an uninterrupted run."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import lightning as L
from lightning.pytorch.callbacks import Callback

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SignalStop(Exception):
    """Raised in the training process when a stop signal arrived."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StopOnSignal(Callback):
    """Lightning alone would end a SIGTERMed run with exit status 0 (its SIGTERMException is a bare
    SystemExit) and a SIGINTed one mid-write; this callback turns both into one exception, raised where
    the loops can stop."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.fitting = False

    def _handle(self, signum: int, _: FrameType | None) -> None:
        if self.signum is not None:
            raise SignalStop(signum)  # a second signal: stop now
        self.signum = signum
        if not self.fitting:
            raise SignalStop(signum)

    @contextmanager
    def installed(self) -> Iterator[StopOnSignal]:
        """Handle SIGINT and SIGTERM inside the block (only the main thread can install handlers)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        # A signal the process was started to ignore (SIGINT in a background job) stays ignored.
        previous = {s: signal.signal(s, self._handle) for s in SIGNALS if signal.getsignal(s) is not signal.SIG_IGN}
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def _check(self) -> None:
        if self.signum is not None:
            raise SignalStop(self.signum)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.fitting = True
        self._check()

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.fitting = False

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        self.fitting = False

    def on_train_batch_end(self, *args) -> None:
        self._check()

    def on_validation_batch_end(self, *args) -> None:
        self._check()
