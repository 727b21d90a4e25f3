"""Crash safety: SIGKILL then resume=true gives the uninterrupted result; finished runs are skipped;
a diverging loss stops the run with a clear message."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

pytestmark = pytest.mark.slow


def command(data_dir: Path, run_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "cnnexp.cli.train", f"paths.data_dir={data_dir}", f"hydra.run.dir={run_dir}",
            "data.train_size=8000", "data.val_size=1000", "trainer.max_epochs=3", "invariance=none",
            "augment=shift", "trainer.log_every_n_steps=10", *extra]


def scalar_steps(run_dir: Path, tag: str) -> list[int]:
    acc = EventAccumulator(str(run_dir / "tb" / "lenet5"), size_guidance={"scalars": 0})
    acc.Reload()
    return [e.step for e in acc.Scalars(tag)]


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path, data_dir):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    subprocess.run(command(data_dir, whole), cwd=tmp_path, check=True, capture_output=True, timeout=600)

    proc = subprocess.Popen(command(data_dir, killed), cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (killed / "checkpoints" / "last.ckpt").exists():
        assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint before the run ended"
        time.sleep(0.05)
    time.sleep(0.5)  # into the second epoch
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "metrics.json").exists()

    resumed = subprocess.run(command(data_dir, killed, "resume=true"), cwd=tmp_path, capture_output=True,
                             text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (whole, killed))
    for key in ("test/acc", "test/loss", "val/acc_best", "epochs"):
        assert a[key] == b[key], key
    for tag in ("train/loss_step", "val/acc"):
        steps = scalar_steps(killed, tag)
        assert steps == scalar_steps(whole, tag) and len(steps) == len(set(steps))


def test_finished_run_is_skipped_on_resume(tmp_path, data_dir):
    run_dir = tmp_path / "run"
    subprocess.run(command(data_dir, run_dir, "trainer.max_epochs=1"), cwd=tmp_path, check=True,
                   capture_output=True, timeout=600)
    before = (run_dir / "metrics.json").read_bytes()
    events = sorted((run_dir / "tb").rglob("events.*"))
    again = subprocess.run(command(data_dir, run_dir, "trainer.max_epochs=1", "resume=true"), cwd=tmp_path,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0
    assert "already finished" in (run_dir / "train.log").read_text()
    assert (run_dir / "metrics.json").read_bytes() == before
    assert sorted((run_dir / "tb").rglob("events.*")) == events


def test_diverging_loss_stops_with_epoch_step_and_learning_rate(tmp_path, data_dir):
    run_dir = tmp_path / "run"
    proc = subprocess.run(command(data_dir, run_dir, "optim=sgd", "optim.optimizer.lr=1e5"), cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("cnnexp-train: error: loss became nan at epoch 0, step ")
    assert "optim.optimizer.lr" in line and "Traceback" not in proc.stderr
    assert not (run_dir / "metrics.json").exists() and not list(run_dir.rglob("*.ckpt"))
