"""Checkpoints: cnnexp-eval reproduces a run, bad checkpoint files get a clear error."""

import json

import pytest
import torch

from cnnexp.classifier import Classifier, Preprocess
from cnnexp.errors import CheckpointError
from cnnexp.training.checkpoint import load_classifier


@pytest.fixture
def trained(trained_run):
    return trained_run, json.loads((trained_run / "metrics.json").read_text())


@pytest.mark.slow
def test_eval_reproduces_test_accuracy_and_runs_the_suite(trained, tmp_path, data_dir, cli):
    run, metrics = trained
    (ckpt,) = (run / "checkpoints").glob("best-*.ckpt")
    proc = cli("cnnexp.cli.eval", [f"ckpt_path={ckpt}", f"paths.data_dir={data_dir}", "invariance=quick",
                                   "invariance.num_images=300"], tmp_path)
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


class CountingForward(torch.nn.Module):
    """Stands in for a compiled classifier and counts the images its forward classifies; FGSM and the feature-map
    check reach the module behind it (`_orig_mod`), as they reach the eager network behind a compiled graph."""

    def __init__(self, classifier):
        super().__init__()
        self._orig_mod, self.preprocess, self.net = classifier, classifier.preprocess, classifier.net
        self.images = 0

    def forward(self, x):
        self.images += len(x)
        return self._orig_mod(x)


@pytest.mark.parametrize("overrides", [
    [], ["invariance.canvas=input"], ["invariance.shift_mode=circular", "invariance.canvas=input"],
    ["invariance.measures=[quarter_turns]", "invariance.fgsm=[]"],
    ["invariance.num_images=5", "invariance.rotate=null"],
    ["invariance.shift_x={start:1,stop:3,step:1}", "invariance.scale={start:0.5,stop:0.9,step:0.2}"]])
def test_the_pass_count_is_the_passes_the_suite_makes(overrides):
    """The count that decides whether to compile is what the suite runs: the clean pass and every measure's
    (a circular consistency that is the consistency itself, or an identity's reused predictions, cost none)."""
    from cnnexp.invariance.measures import suite_passes
    from cnnexp.invariance.suite import run_suite
    from cnnexp.models.lenet5 import LeNet5

    torch.manual_seed(0)
    cfg = _suite_config("invariance.batch_size=8", "invariance.equivariance_images=4", *overrides)
    images, labels = torch.randint(0, 256, (12, 1, 28, 28), dtype=torch.uint8), torch.randint(0, 10, (12,))
    model = CountingForward(Classifier(Preprocess([0.13], [0.31], size=32), LeNet5()).eval())
    run_suite(model, images, labels, cfg)
    assert model.images == suite_passes(images.shape, cfg, input_px=32)


def test_compile_only_where_the_images_repay_it():
    from cnnexp.compiled import worth_compiling
    from cnnexp.invariance.measures import suite_passes

    test = (10_000, 1, 28, 28)
    assert worth_compiling(10_000 + suite_passes(test, _suite_config(), input_px=32))
    assert not worth_compiling(10_000)  # the test alone: a compile would cost more than it saves
    assert suite_passes(test, _suite_config("invariance=none"), input_px=32) == 0


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
