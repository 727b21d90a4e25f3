"""The one LightningModule for every network: augmentation, cross-entropy, accuracy, the optimizer step
(with gradient clipping and accumulation), and the schedule."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torchmetrics.classification import MulticlassAccuracy

from cnnexp.classifier import Classifier
from cnnexp.data.augment import BatchAugment
from cnnexp.errors import TrainingDiverged

CHECK_EVERY = 50  # steps between loss checks on an accelerator


class LitClassifier(L.LightningModule):
    """Trains `classifier` (preprocessing + net).

    Manual optimization: the same zero_grad / backward / step / schedule as automatic optimization,
    without its per-step closure and six extra hook dispatches (measured by benchmarks/train_speed.py;
    figures in benchmarks/README.md, "Manual optimization"). Lightning refuses its own clipping and
    accumulation under manual optimization, so `clip_val`, `clip_algorithm` and `accumulate` (the
    trainer keys `gradient_clip_val`, `gradient_clip_algorithm`, `accumulate_grad_batches`) are done
    here, as Lightning does them: the loss divided by `accumulate`, one step per `accumulate` batches
    and at the end of each epoch, gradients clipped just before the step.
    """

    def __init__(self, classifier: Classifier, num_classes: int, optimizer: Callable[..., torch.optim.Optimizer],
                 scheduler: Callable[..., Any] | None = None, scheduler_interval: str = "step",
                 config: dict | None = None, augment: BatchAugment | None = None, label_smoothing: float = 0.0,
                 clip_val: float | None = None, clip_algorithm: str = "norm", accumulate: int = 1):
        super().__init__()
        self.classifier = classifier
        self.augment = augment
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.scheduler_interval = scheduler_interval
        # The training loss only: validation reports plain cross-entropy, comparable across runs.
        self.label_smoothing = label_smoothing
        self.clip_val, self.clip_algorithm, self.accumulate = clip_val, clip_algorithm, accumulate
        self.automatic_optimization = False
        # Plain-data run config, stored in checkpoints so a checkpoint can rebuild its classifier.
        self.config = config or {}
        self.val_acc = MulticlassAccuracy(num_classes, average="micro", validate_args=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(x)

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        # On the device, whole batch, training only; keyed by the global step for exact resumes.
        if self.augment is not None and self.trainer.training:
            x, y = batch
            batch = (self.augment(x, self.global_step), y)
        return batch

    def on_train_epoch_start(self) -> None:
        # Loss sum and correct count kept on the device, logged once per epoch: no per-step
        # self.log or metric object (a measurable share of a LeNet-5 step on a CPU: benchmarks/README.md),
        # no host sync on a GPU.
        self._loss_sum = torch.zeros((), device=self.device)
        self._correct = torch.zeros((), dtype=torch.long, device=self.device)
        self._seen = 0

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y, label_smoothing=self.label_smoothing)
        # On the CPU reading the loss is free; on an accelerator it would stall the queue every
        # step, so there it is read every CHECK_EVERY steps (the message then says "by step").
        if self.device.type == "cpu" or batch_idx % CHECK_EVERY == 0:
            value = loss.item()
            if not math.isfinite(value):
                self._diverged(value, batch_idx)
        self.manual_backward(loss / self.accumulate if self.accumulate > 1 else loss)
        if self.accumulate == 1 or (batch_idx + 1) % self.accumulate == 0 or self.trainer.is_last_batch:
            self._optimizer_step()
        with torch.no_grad():
            self._loss_sum.add_(loss.detach(), alpha=len(y))
            self._correct += (logits.argmax(-1) == y).sum()
        self._seen += len(y)
        if self.global_step % self.trainer.log_every_n_steps == 0:
            self.log("train/loss_step", loss.detach(), on_step=True, on_epoch=False, prog_bar=True)
        return loss.detach()

    def _optimizer_step(self) -> None:
        optimizer = self.optimizers()
        if self.global_step % self.trainer.log_every_n_steps == 0:
            # The rate this step uses, written at once (from step 0, so a short run shows its schedule too);
            # Lightning's LearningRateMonitor would log `lr-AdamW` once an epoch.
            for logger in self.loggers:
                logger.log_metrics({"train/lr": optimizer.param_groups[0]["lr"]}, step=self.global_step)
        if self.clip_val is not None:
            self.clip_gradients(optimizer, gradient_clip_val=self.clip_val, gradient_clip_algorithm=self.clip_algorithm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        scheduler = self.lr_schedulers()
        if scheduler is not None and self.scheduler_interval == "step":
            scheduler.step()

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
        """A few large batches, logged per epoch through torchmetrics."""
        x, y = batch
        logits = self(x)
        self.val_acc.update(logits, y)
        # sync_dist: under DDP the epoch's loss is averaged over the processes (once per epoch);
        # the accuracy metric syncs its counts itself, so it covers every example exactly.
        self.log("val/loss", F.cross_entropy(logits, y), on_epoch=True, batch_size=len(y), sync_dist=True)
        self.log("val/acc", self.val_acc, on_epoch=True, prog_bar=True, batch_size=len(y))

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        kwargs = {}
        # Schedules such as OneCycleLR need the run's length, known only once the trainer exists.
        if "total_steps" in inspect.signature(self.scheduler_factory).parameters:
            epochs = self.trainer.max_epochs
            batches = int(self.trainer.estimated_stepping_batches) // epochs
            steps = epochs * math.ceil(batches / self.accumulate)  # one step per `accumulate` batches and per epoch end
            # OneCycleLR divides by its warm-up length; a run of a few steps would make it zero.
            pct_start = getattr(self.scheduler_factory, "keywords", {}).get("pct_start", 0.3)
            kwargs["total_steps"] = max(steps, math.ceil(2 / pct_start))
        scheduler = self.scheduler_factory(optimizer, **kwargs)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": self.scheduler_interval}}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["cnnexp_config"] = self.config
