"""The classifier's preprocessing and the LightningModule around it."""

import functools
from pathlib import Path

import pytest
import torch

from cnnexp.classifier import Classifier, Preprocess
from cnnexp.models.lenet5 import LeNet5
from cnnexp.training.lit_module import LitClassifier


def test_preprocess_pads_with_background_then_normalizes():
    pre = Preprocess(mean=[0.1307], std=[0.3081], size=32)
    digit = torch.zeros(1, 1, 28, 28)
    digit[0, 0, 0, 0] = 1.0
    out = pre(digit)
    assert out.shape == (1, 1, 32, 32)
    background = torch.tensor((0 - 0.1307) / 0.3081)
    assert torch.allclose(out[0, 0, :2], background) and torch.allclose(out[0, 0, :, :2], background)
    assert out[0, 0, 2, 2].item() == pytest.approx((1 - 0.1307) / 0.3081)
    # An image already on the 32x32 canvas (the suite's `canvas: input`) is only normalized.
    assert torch.equal(pre(torch.nn.functional.pad(digit, (2,) * 4)), out)


def test_module_takes_native_size_images():
    model = Classifier(Preprocess([0.1307], [0.3081], size=32), LeNet5())
    module = LitClassifier(model, 10, functools.partial(torch.optim.AdamW, lr=1e-3))
    assert module(torch.rand(5, 1, 28, 28)).shape == (5, 10)


def test_checkpoints_are_written_through_a_rename(tmp_path, monkeypatch):
    import os

    from cnnexp.training.checkpoint import AtomicCheckpointIO

    renames = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (renames.append((src, dst)), real_replace(src, dst)))
    target = tmp_path / "checkpoints" / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"w": torch.ones(2)}, target)
    assert torch.load(target, weights_only=True)["w"].tolist() == [1.0, 1.0]
    assert len(renames) == 1 and Path(renames[0][0]).parent == target.parent
    assert sorted(p.name for p in target.parent.iterdir()) == ["last.ckpt"]  # no temporary left


def fit_like(module, hand, images, labels, tmp_path):
    """One epoch of `module` at batch 8 on a bare CPU trainer; its weights must equal `hand`'s after."""
    import lightning as L

    from cnnexp.data.batches import TensorBatches

    trainer = L.Trainer(max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path)
    trainer.fit(module, train_dataloaders=TensorBatches(images, labels, 8))
    for ours, theirs in zip(module.classifier.parameters(), hand.parameters()):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)
    return trainer


@pytest.mark.parametrize("optimizer,label_smoothing", [
    (functools.partial(torch.optim.AdamW, lr=1e-2, weight_decay=5e-4), 0.0),
    (functools.partial(torch.optim.SGD, lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4), 0.1),
], ids=["adamw", "sgd-nesterov-smoothed"])
def test_training_steps_match_a_hand_written_loop(tmp_path, optimizer, label_smoothing):
    """Lightning's path takes exactly the hand-written loop's optimizer and schedule steps, with the
    training loss the config asks for."""
    import torch.nn.functional as F

    from cnnexp.data.batches import TensorBatches

    torch.manual_seed(0)
    images, labels = torch.randint(0, 256, (40, 1, 28, 28), dtype=torch.uint8), torch.randint(0, 10, (40,))
    scheduler = functools.partial(torch.optim.lr_scheduler.OneCycleLR, max_lr=optimizer.keywords["lr"],
                                  total_steps=5, pct_start=0.4)

    torch.manual_seed(1)
    hand = Classifier(Preprocess([0.1307], [0.3081], size=32), LeNet5())
    torch.manual_seed(1)
    module = LitClassifier(Classifier(Preprocess([0.1307], [0.3081], size=32), LeNet5()), 10, optimizer, scheduler,
                              label_smoothing=label_smoothing)

    opt = optimizer(params=hand.parameters())
    sched = scheduler(opt)
    for x, y in TensorBatches(images, labels, 8):
        loss = F.cross_entropy(hand(x), y, label_smoothing=label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()

    trainer = fit_like(module, hand, images, labels, tmp_path)
    assert trainer.global_step == 5
    assert trainer.lr_scheduler_configs[0].scheduler.last_epoch == 5
    assert set(trainer.callback_metrics) >= {"train/loss", "train/acc"}


def test_clipping_and_accumulation_take_the_trainer_keys_steps(tmp_path):
    """trainer.gradient_clip_val / accumulate_grad_batches under manual optimization: the loss / N,
    one clipped step every N batches and at the epoch's end, as Lightning's automatic loop does."""
    import torch.nn.functional as F

    from cnnexp.data.batches import TensorBatches

    torch.manual_seed(0)
    images, labels = torch.randint(0, 256, (80, 1, 28, 28), dtype=torch.uint8), torch.randint(0, 10, (80,))
    optimizer = functools.partial(torch.optim.SGD, lr=0.5, momentum=0.9)
    scheduler = functools.partial(torch.optim.lr_scheduler.OneCycleLR, max_lr=0.5, pct_start=0.5)
    torch.manual_seed(1)
    hand = Classifier(Preprocess([0.1307], [0.3081], size=32), LeNet5())
    torch.manual_seed(1)
    module = LitClassifier(Classifier(Preprocess([0.1307], [0.3081], size=32), LeNet5()), 10, optimizer, scheduler,
                           clip_val=0.05, clip_algorithm="norm", accumulate=3)

    opt = optimizer(params=hand.parameters())
    sched = scheduler(opt, total_steps=4)  # 10 batches: steps after batches 3, 6, 9 and 10
    for i, (x, y) in enumerate(TensorBatches(images, labels, 8)):
        (F.cross_entropy(hand(x), y) / 3).backward()
        if i % 3 == 2 or i == 9:
            torch.nn.utils.clip_grad_norm_(hand.parameters(), 0.05)
            opt.step()
            opt.zero_grad(set_to_none=True)
            sched.step()

    trainer = fit_like(module, hand, images, labels, tmp_path)
    assert trainer.global_step == 4
    assert trainer.lr_scheduler_configs[0].scheduler.total_steps == 4
