"""Checkpoints: cnnexp-eval reproduces a run, bad checkpoint files get a clear error."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cnnexp.errors import CheckpointError
from cnnexp.training.checkpoint import load_classifier
from cnnexp.training.run import train


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_dir):
    from tests.conftest import compose_train

    tmp = tmp_path_factory.mktemp("trained")
    cfg = compose_train(tmp, data_dir, "data.val_size=500")
    metrics = train(cfg)
    return Path(cfg.paths.output_dir), metrics


@pytest.mark.slow
def test_eval_reproduces_test_accuracy_and_runs_the_suite(trained, tmp_path, data_dir):
    run, metrics = trained
    (ckpt,) = (run / "checkpoints").glob("best-*.ckpt")
    proc = subprocess.run([sys.executable, "-m", "cnnexp.cli.eval", f"ckpt_path={ckpt}", f"paths.data_dir={data_dir}",
                           "invariance=quick", "invariance.num_images=300"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (out,) = (tmp_path / "outputs" / "eval" / "runs").iterdir()
    evaluated = json.loads((out / "metrics.json").read_text())
    # One schema, one test path: cnnexp-eval on the chosen checkpoint writes what cnnexp-train wrote.
    for key in ("test/acc", "test/loss", "params/total", "params/trainable"):
        assert evaluated[key] == pytest.approx(metrics[key], abs=1e-6), key
    assert json.loads((out / "invariance.json").read_text())["consistency"]["images"] == 300
    assert list((out / "tb" / "eval").glob("events.out.tfevents.*"))


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_classifier(tmp_path / "nope.ckpt")


def test_not_a_checkpoint(tmp_path):
    bad = tmp_path / "notes.ckpt"
    bad.write_text("hello")
    with pytest.raises(CheckpointError, match="cannot be read .*truncated or not a checkpoint"):
        load_classifier(bad)


@pytest.mark.slow
def test_truncated_checkpoint(trained, tmp_path):
    data = (trained[0] / "checkpoints" / "last.ckpt").read_bytes()
    cut = tmp_path / "cut.ckpt"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_classifier(cut)


def test_foreign_torch_file(tmp_path):
    other = tmp_path / "weights.pt"
    torch.save({"state_dict": {"w": torch.zeros(1)}}, other)
    with pytest.raises(CheckpointError, match="not a cnnexp checkpoint"):
        load_classifier(other)


@pytest.mark.slow
def test_checkpoint_from_another_model(trained, tmp_path):
    ckpt = torch.load(trained[0] / "checkpoints" / "last.ckpt", weights_only=True)
    ckpt["cnnexp_config"]["model"]["kernel_size"] = 3  # config no longer matches the weights
    edited = tmp_path / "edited.ckpt"
    torch.save(ckpt, edited)
    with pytest.raises(CheckpointError, match="is corrupted: its content no longer matches the digest"):
        load_classifier(edited)
    del ckpt["cnnexp_sha256"]  # as written before checkpoints carried a digest: the weights do not fit
    torch.save(ckpt, edited)
    with pytest.raises(CheckpointError, match="does not fit its model: Error"):
        load_classifier(edited)
