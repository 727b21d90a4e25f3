"""Crash safety: SIGKILL, SIGINT or SIGTERM then resume=true gives the uninterrupted result; a full disk
keeps the last checkpoint; finished runs are skipped; a diverging loss stops the run with a clear message."""

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests import prestarted
from tests.conftest import built_once

pytestmark = pytest.mark.slow


def command(data_dir: Path, run_dir: Path, *extra: str) -> list[str]:
    """cnnexp-train's arguments for these runs."""
    return [f"paths.data_dir={data_dir}", f"hydra.run.dir={run_dir}", "data.train_size=8000", "data.val_size=1000",
            "trainer.max_epochs=2", "invariance=none", "augment=shift", "trainer.log_every_n_steps=10", *extra]


def train(cwd: Path, *args: str, file_size_limit: int | None = None):
    """`python -m cnnexp.cli.train *args` as a process of its own (tests/prestarted.py)."""
    return prestarted.run("cnnexp.cli.train", args, cwd, file_size_limit=file_size_limit)


def scalar_steps(run_dir: Path, tag: str) -> list[int]:
    acc = EventAccumulator(str(run_dir / "tb" / "lenet5"), size_guidance={"scalars": 0})
    acc.Reload()
    return [e.step for e in acc.Scalars(tag)]


@pytest.fixture(scope="session")
def whole(tmp_path_factory, data_dir) -> Path:
    """The uninterrupted run the interrupted ones must end up equal to (one, shared by the xdist workers)."""
    def build(tmp: Path) -> None:
        assert train(tmp, *command(data_dir, tmp / "run")).returncode == 0

    return built_once(tmp_path_factory, "resume-whole", build) / "run"


def start_and_stop(data_dir: Path, run_dir: Path, signum: int):
    """Start a run (SIGINT handled as in a shell's foreground job), send `signum` early in its second epoch; the
    finished process."""
    proc = prestarted.Started("cnnexp.cli.train", command(data_dir, run_dir), run_dir.parent)
    deadline = time.monotonic() + 300
    while not (run_dir / "checkpoints" / "last.ckpt").exists():
        assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint before the run ended"
        time.sleep(0.05)
    time.sleep(0.5)  # into the second epoch
    os.kill(proc.pid, signum)
    _, stderr = proc.communicate(timeout=120)
    return proc.returncode, stderr


def assert_resumes_to(whole: Path, run_dir: Path, data_dir: Path) -> None:
    assert not (run_dir / "metrics.json").exists()
    resumed = train(run_dir.parent, *command(data_dir, run_dir, "resume=true"))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (whole, run_dir))
    for key in ("test/acc", "test/loss", "val/acc_best", "epochs"):
        assert a[key] == b[key], key
    for tag in ("train/loss_step", "val/acc"):
        steps = scalar_steps(run_dir, tag)
        assert steps == scalar_steps(whole, tag) and len(steps) == len(set(steps))


def test_killed_run_resumes_to_the_uninterrupted_result(whole, tmp_path, data_dir):
    killed = tmp_path / "killed"
    start_and_stop(data_dir, killed, signal.SIGKILL)
    assert_resumes_to(whole, killed, data_dir)


def assert_stopped_cleanly(run_dir: Path, returncode: int, stderr: str, signum: int) -> None:
    from cnnexp.training.checkpoint import read_checkpoint

    assert returncode == 128 + signum, stderr[-2000:]
    lines = [ln for ln in stderr.splitlines() if ln.startswith("cnnexp-train")]
    assert lines == [f"cnnexp-train: stopped by {signal.Signals(signum).name}; {run_dir}/checkpoints/last.ckpt holds "
                     f"1 finished epoch(s) (step 125), intact: continue with resume=true"], stderr[-2000:]
    assert "Traceback" not in stderr
    assert read_checkpoint(run_dir / "checkpoints" / "last.ckpt")["epoch"] == 0
    assert not list(run_dir.rglob("*.tmp"))


def test_sigterm_stops_the_run_cleanly_and_resume_ends_as_if_uninterrupted(whole, tmp_path, data_dir):
    run_dir = tmp_path / "stopped"
    assert_stopped_cleanly(run_dir, *start_and_stop(data_dir, run_dir, signal.SIGTERM), signal.SIGTERM)
    assert_resumes_to(whole, run_dir, data_dir)  # the same path after either signal (and after SIGKILL)


def test_sigint_stops_the_run_cleanly_then_a_checkpoint_that_cannot_be_written_keeps_the_last_one(tmp_path,
                                                                                                      data_dir):
    """The stopped run, resumed on a full disk: simulated with a file-size limit below a checkpoint's size (SIGXFSZ
    ignored: EFBIG)."""
    from cnnexp.training.checkpoint import read_checkpoint

    run_dir = tmp_path / "run"
    # A run with one epoch's checkpoint, unfinished.
    assert_stopped_cleanly(run_dir, *start_and_stop(data_dir, run_dir, signal.SIGINT), signal.SIGINT)
    last = run_dir / "checkpoints" / "last.ckpt"
    before = last.read_bytes()
    full = train(tmp_path, *command(data_dir, run_dir, "resume=true"), file_size_limit=last.stat().st_size // 2)
    assert full.returncode == 2, full.stderr[-2000:]
    lines = full.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in full.stderr, full.stderr[-2000:]
    assert lines[0].startswith(f"cnnexp-train: error: checkpoint {run_dir}/checkpoints/")
    assert lines[0].endswith("could not be written (File too large); the checkpoints written before it are "
                             "intact: free space and continue with resume=true")
    assert last.read_bytes() == before and read_checkpoint(last)["epoch"] == 0
    assert not list(run_dir.rglob("*.tmp")) and not (run_dir / "metrics.json").exists()


def in_process(cli, data_dir: Path, run_dir: Path, *extra: str):
    """`command` run in this process (conftest.cli): for what the command does, not what its process does."""
    return cli("cnnexp.cli.train", command(data_dir, run_dir, *extra), run_dir.parent)


def test_finished_run_is_skipped_on_resume(whole, tmp_path, data_dir, cli):
    run_dir = tmp_path / "run"
    shutil.copytree(whole, run_dir)  # a finished run of this command
    before = (run_dir / "metrics.json").read_bytes()
    events = sorted((run_dir / "tb").rglob("events.*"))
    again = in_process(cli, data_dir, run_dir, "resume=true")
    assert again.returncode == 0
    assert "already finished" in (run_dir / "train.log").read_text()
    assert (run_dir / "metrics.json").read_bytes() == before
    assert sorted((run_dir / "tb").rglob("events.*")) == events


def test_diverging_loss_stops_with_epoch_step_and_learning_rate(tmp_path, data_dir, cli):
    run_dir = tmp_path / "run"
    proc = in_process(cli, data_dir, run_dir, "optim=sgd", "optim.optimizer.lr=1e5")
    assert proc.returncode == 2
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("cnnexp-train: error: loss became nan at epoch 0, step ")
    assert "optim.optimizer.lr" in line and "Traceback" not in proc.stderr
    assert not (run_dir / "metrics.json").exists() and not list(run_dir.rglob("*.ckpt"))
