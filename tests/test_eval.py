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


def _suite_config(*overrides: str) -> dict:
    from omegaconf import OmegaConf

    from cnnexp.config import compose

    return OmegaConf.to_container(compose("train", list(overrides)).invariance, resolve=True)


def test_compile_only_where_the_images_repay_it():
    from cnnexp.compiled import worth_compiling
    from cnnexp.invariance.suite import suite_passes

    default = _suite_config()
    # The default suite on the 10,000 test images: 70 curve settings less the 4 identities (the clean pass's
    # predictions) and 13 more passes, each of every image.
    assert suite_passes(10_000, default) == (17 + 17 + 25 + 11 - 4 + 13) * 10_000
    assert suite_passes(10_000, _suite_config("invariance.canvas=input")) == (17 + 17 + 25 + 11 - 2 + 13) * 10_000
    assert suite_passes(10_000, _suite_config("invariance.measures=[quarter_turns]")) == (70 - 4 + 1 + 3) * 10_000
    assert worth_compiling(10_000 + suite_passes(10_000, default))
    assert not worth_compiling(10_000)  # the test alone: a compile would cost more than it saves
    assert suite_passes(10_000, _suite_config("invariance=none")) == 0
    no_rotation = _suite_config("invariance.num_images=300", "invariance.rotate=null")
    assert suite_passes(10_000, no_rotation) == (45 - 3 + 13) * 300


def test_one_process_compiles_every_model_it_evaluates():
    # A claims worker evaluates a dozen models in turn: past dynamo's default limit of 8 graphs per forward,
    # the later ones silently ran eagerly.
    import torch._dynamo

    from cnnexp.classifier import Classifier, Preprocess
    from cnnexp.compiled import for_inference

    torch._dynamo.utils.counters.clear()
    for classes in range(1, 11):  # small nets, cheap to compile: the limit counts graphs, whatever their size
        model = Classifier(Preprocess([0.5], [0.5], 28), torch.nn.Sequential(torch.nn.Flatten(),
                                                                             torch.nn.Linear(784, classes))).eval()
        with torch.inference_mode():
            for_inference(model, passes=0, mode=True)(torch.zeros(4, 1, 28, 28))
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == 10


@pytest.mark.slow
def test_compiled_evaluation_gives_the_eager_results(trained, data_dir):
    import torch._dynamo

    from cnnexp.compiled import for_inference
    from cnnexp.data.torchvision_sets import load_split
    from cnnexp.invariance.metrics import predict
    from cnnexp.invariance.suite import run_suite
    from cnnexp.training.evaluate import test_metrics

    (ckpt,) = (trained[0] / "checkpoints").glob("best-*.ckpt")
    model = load_classifier(ckpt)
    fast = for_inference(model, passes=0, mode=True)
    test = load_split("MNIST", data_dir, train=False)
    images, labels = test.images[:1000], test.labels[:1000]
    cfg = _suite_config("invariance=quick", "invariance.num_images=300")
    torch._dynamo.utils.counters.clear()
    logits = predict(model, images, 500, softmax=False)
    assert test_metrics(predict(fast, images, 500, softmax=False), labels) == pytest.approx(
        test_metrics(logits, labels), abs=1e-6)
    compiled, plain = run_suite(fast, images, labels, cfg), run_suite(model, images, labels, cfg, clean=logits)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 1  # the compiled graph ran, not eager
    del compiled["summary"]["inv/suite_s"], plain["summary"]["inv/suite_s"]
    assert _same(compiled, plain)


def _same(a, b) -> bool:
    """Nested results equal, floats to 1e-5 (pytest.approx does not descend into nested dicts)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, abs=1e-5)
    return a == b
