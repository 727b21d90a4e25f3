"""A callback for benchmarks/startup.py: report seconds from the command's start to the first
training step, then stop the run."""

import os
import time

import lightning as L


class FirstStepProbe(L.Callback):
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        print(f"first-step-s={time.time() - float(os.environ['CNNEXP_BENCH_T0']):.3f}", flush=True)
        raise SystemExit(0)
