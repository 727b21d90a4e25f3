"""The one LightningModule for every network: augmentation, cross-entropy, accuracy, optimizer and schedule."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MulticlassAccuracy

from cnnexp.classifier import Classifier
from cnnexp.data.augment import BatchAugment
from cnnexp.errors import TrainingDiverged

CHECK_EVERY = 50  # steps between loss checks on an accelerator


class ClassifierModule(L.LightningModule):
    def __init__(self, model: Classifier, num_classes: int, optimizer: Callable[..., torch.optim.Optimizer],
                 scheduler: Callable[..., Any] | None = None, scheduler_interval: str = "step",
                 config: dict | None = None, augment: BatchAugment | None = None, label_smoothing: float = 0.0):
        super().__init__()
        self.model = model
        self.augment = augment
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.scheduler_interval = scheduler_interval
        # The training loss only: validation and test report plain cross-entropy, comparable across runs.
        self.label_smoothing = label_smoothing
        self.automatic_optimization = False  # see training_step
        # Plain-data run config, stored in checkpoints so a checkpoint can rebuild its model.
        self.config = config or {}
        # ModuleDict keys may not shadow nn.Module attributes such as `train`.
        self.acc = nn.ModuleDict({f"{s}_acc": MulticlassAccuracy(num_classes, average="micro", validate_args=False)
                                  for s in ("val", "test")})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        # On the device, whole batch, training only; keyed by the global step for exact resumes.
        if self.augment is not None and self.trainer.training:
            x, y = batch
            batch = (self.augment(x, self.global_step), y)
        return batch

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> None:
        """Validation and test: a few large batches, logged per epoch through torchmetrics."""
        x, y = batch
        logits = self(x)
        acc = self.acc[f"{stage}_acc"]
        acc.update(logits, y)
        # sync_dist: under DDP the epoch's loss is averaged over the processes (once per epoch);
        # the accuracy metric syncs its counts itself, so it covers every example exactly.
        self.log(f"{stage}/loss", F.cross_entropy(logits, y), on_epoch=True, batch_size=len(y), sync_dist=True)
        self.log(f"{stage}/acc", acc, on_epoch=True, prog_bar=stage == "val", batch_size=len(y))

    def on_train_epoch_start(self) -> None:
        # Loss sum and correct count kept on the device, logged once per epoch: no per-step
        # self.log or metric object (~10% of a LeNet-5 step on a CPU), no host sync on a GPU.
        self._loss_sum = torch.zeros((), device=self.device)
        self._correct = torch.zeros((), dtype=torch.long, device=self.device)
        self._seen = 0

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        # Manual optimization: the same zero_grad / backward / step / schedule as automatic
        # optimization, without its per-step closure and six extra hook dispatches (a measured
        # ~half of Lightning's per-step cost on LeNet-5; see benchmarks/train_speed.py).
        optimizer = self.optimizers()
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y, label_smoothing=self.label_smoothing)
        # On the CPU reading the loss is free; on an accelerator it would stall the queue every
        # step, so there it is read every CHECK_EVERY steps (the message then says "by step").
        if self.device.type == "cpu" or batch_idx % CHECK_EVERY == 0:
            value = loss.item()
            if not math.isfinite(value):
                self._diverged(value, batch_idx)
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()
        scheduler = self.lr_schedulers()
        if scheduler is not None and self.scheduler_interval == "step":
            scheduler.step()
        with torch.no_grad():
            self._loss_sum.add_(loss.detach(), alpha=len(y))
            self._correct += (logits.argmax(-1) == y).sum()
        self._seen += len(y)
        if self.global_step % self.trainer.log_every_n_steps == 0:
            self.log("train/loss_step", loss.detach(), on_step=True, on_epoch=False, prog_bar=True)
        return loss.detach()

    def on_train_epoch_end(self) -> None:
        scheduler = self.lr_schedulers()
        if scheduler is not None and self.scheduler_interval == "epoch":
            scheduler.step()
        # Under DDP every process sees the same number of examples, so the mean over processes is exact.
        self.log("train/loss", self._loss_sum / self._seen, on_epoch=True, sync_dist=True)
        self.log("train/acc", self._correct.float() / self._seen, on_epoch=True, sync_dist=True)

    def _diverged(self, value: float, batch_idx: int) -> None:
        where = "at" if self.device.type == "cpu" else "by"
        lr = self.trainer.optimizers[0].param_groups[0]["lr"]
        raise TrainingDiverged(
            f"loss became {value} {where} epoch {self.current_epoch}, step {batch_idx} (global step "
            f"{self.global_step}); training stopped, checkpoints of earlier epochs are kept. Likeliest cause: "
            f"the learning rate ({lr:.3g} at this step): lower optim.optimizer.lr")

    def validation_step(self, batch, batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self._step(batch, "test")

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        kwargs = {}
        # Schedules such as OneCycleLR need the run's length, known only once the trainer exists.
        if "total_steps" in inspect.signature(self.scheduler_factory).parameters:
            steps = int(self.trainer.estimated_stepping_batches)
            # OneCycleLR divides by its warm-up length; a run of a few steps would make it zero.
            pct_start = getattr(self.scheduler_factory, "keywords", {}).get("pct_start", 0.3)
            kwargs["total_steps"] = max(steps, math.ceil(2 / pct_start))
        scheduler = self.scheduler_factory(optimizer, **kwargs)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": self.scheduler_interval}}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["cnnexp_config"] = self.config
