"""Lightning callbacks of cnnexp (selected in conf/callbacks/)."""

from __future__ import annotations

import time

import lightning as L


class TrainThroughput(L.Callback):
    """Training images per wall second over the run's training epochs, for metrics.json.

    Data handling between batches counts; validation does not (each epoch's clock stops at its last
    training batch). Not Lightning's ThroughputMonitor: that one logs a windowed rate per logged step
    and needs a batch-size function; cnnexp reports one figure per run.
    """

    def __init__(self):
        self.images = 0
        self.seconds = 0.0
        self._start: float | None = None
        self._last: float | None = None

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._start, self._last = time.perf_counter(), None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.images += len(batch[-1])
        self._last = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if self._start is not None and self._last is not None:
            self.seconds += self._last - self._start

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds else 0.0
