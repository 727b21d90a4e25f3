"""End-to-end training: what a run leaves on disk and in TensorBoard, through the API and the CLI."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import lightning as L
import pytest
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

import cnnexp
from cnnexp.data.torchvision_sets import load_split
from cnnexp.runtime import NVML_CHECK
from cnnexp.training.run import train

pytestmark = pytest.mark.slow
TINY = ("data.val_size=500", "data.eval_batch_size=2000", "invariance=none")


def read_events(run_dir: Path) -> EventAccumulator:
    acc = EventAccumulator(str(run_dir / "tb" / "lenet5"), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def logged_hparams(acc: EventAccumulator) -> dict:
    content = acc.PluginTagToContent("hparams")
    data = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    return {k: v.string_value or v.number_value for k, v in data.session_start_info.hparams.items()}


def test_run_leaves_metrics_checkpoints_and_tensorboard(train_cfg):
    cfg = train_cfg("data.train_size=2000", "trainer.max_epochs=2", "invariance=quick", "invariance.num_images=1000")
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)

    on_disk = json.loads((run / "metrics.json").read_text())
    assert on_disk == metrics
    assert metrics["params/total"] == metrics["params/trainable"] == 61_706
    assert metrics["test/acc"] > 0.5 and metrics["val/acc_best"] > 0.5  # 10 classes: chance is 0.1
    assert metrics["time/fit_s"] > 0 and metrics["throughput/train_img_s"] > 0
    assert {p.name for p in (run / "checkpoints").iterdir()} == {"last.ckpt", "best-epoch01.ckpt"}
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["cnnexp_config"]["model"]["_target_"] == "cnnexp.models.lenet5.LeNet5"

    acc = read_events(run)
    tags = set(acc.Tags()["scalars"])
    assert {"train/loss", "train/loss_step", "train/acc", "val/loss", "val/acc", "val/acc_best", "test/loss",
            "test/acc", "params/total", "params/layer/c5", "time/fit_s", "throughput/train_img_s"} <= tags
    (tested,) = acc.Scalars("test/acc")  # one point: the chosen checkpoint's
    assert tested.value == pytest.approx(metrics["test/acc"])
    # The per-epoch series and the chosen checkpoint's score are two tags: the best of the series.
    assert len(acc.Scalars("val/acc")) == 2
    assert max(s.value for s in acc.Scalars("val/acc")) == pytest.approx(metrics["val/acc_best"])
    assert acc.Scalars("val/acc_best")[-1].value == pytest.approx(metrics["val/acc_best"])
    assert acc.Scalars("params/layer/c5")[0].value == 48_120
    # The one-cycle schedule from its first step: max_lr 2e-3 / div_factor 25, then every 50 steps.
    lrs = acc.Scalars("train/lr")
    assert [s.step for s in lrs] == [0, 50] and lrs[0].value == pytest.approx(2e-3 / 25)
    assert {"filters/c1", "feature_maps/c1", "feature_maps/c3"} <= set(acc.Tags()["images"])
    hparams = logged_hparams(acc)
    assert hparams["model/pooling"] == "max" and hparams["data/train_size"] == "2000"
    # Lightning's hparams.yaml holds the same settings (a sweep's HParams columns are read from it).
    assert yaml.safe_load((run / "tb" / "lenet5" / "hparams.yaml").read_text()) == hparams
    assert "hp_metric" not in tags
    table = acc.Tensors("model/layers/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "| c1 | conv | 6x28x28 | 156 | 5x5 |" in table

    # The invariance suite: files, summary in metrics.json, curves and HParams metrics in TensorBoard.
    inv = json.loads((run / "invariance.json").read_text())
    assert metrics["inv/shift_consistency"] == inv["summary"]["inv/shift_consistency"]
    images = {"invariance/shift_x", "invariance/rotate", "invariance/scale", "invariance/layers"}
    assert images <= set(acc.Tags()["images"])
    assert "inv/rotate_auc" in tags and not [k for k in hparams if k.startswith("invariance")]

    # load_classifier reproduces the run's test accuracy, and an independent +3 px shift agrees
    # with the suite's curve.
    model = cnnexp.load_classifier(run / "checkpoints" / "best-epoch01.ckpt")
    test = load_split("MNIST", cfg.paths.data_dir, train=False)
    images, labels = test.images, test.labels
    x = images.float() / 255
    with torch.no_grad():
        assert (model(x).argmax(1) == labels).float().mean().item() == pytest.approx(metrics["test/acc"], abs=1e-6)
        moved = torch.zeros_like(x[:1000])
        moved[..., 3:] = x[:1000, ..., :-3]
        own = (model(moved).argmax(1) == labels[:1000]).float().mean().item()
    assert own == pytest.approx(inv["shift_x"]["acc"][inv["shift_x"]["values"].index(3)], abs=0.005)


def test_ema_run_tests_the_averaged_weights_validation_chose(train_cfg):
    cfg = train_cfg("data.train_size=2000", "trainer.max_epochs=2", "callbacks=ema", "callbacks.ema.decay=0.9",
                    *TINY)
    metrics = train(cfg)
    [best] = (Path(cfg.paths.output_dir) / "checkpoints").glob("best-*.ckpt")
    ckpt = torch.load(best, weights_only=True)
    averaged, raw = ckpt["state_dict"], ckpt["current_model_state"]
    assert any(not torch.equal(averaged[k], raw[k]) for k in averaged)  # two different sets of weights
    test = load_split("MNIST", cfg.paths.data_dir, train=False)
    with torch.no_grad():
        logits = cnnexp.load_classifier(best)(test.images.float() / 255)
    assert (logits.argmax(1) == test.labels).float().mean().item() == pytest.approx(metrics["test/acc"], abs=1e-6)


def test_same_seed_gives_identical_metrics(train_cfg, tmp_path):
    first = train(train_cfg(*TINY))
    again = train_cfg(*TINY, f"paths.root_dir={tmp_path / 'again'}")
    again.paths.output_dir = str(tmp_path / "again")
    second = train(again)
    # Everything but wall-clock figures is identical (same machine, same thread count).
    timing = ("time/fit_s", "throughput/train_img_s")
    assert {k: v for k, v in first.items() if k not in timing} == {k: v for k, v in second.items() if k not in timing}


def test_cpu_run_leaves_no_thread_behind_and_drops_lightnings_nvml_check(train_cfg, monkeypatch):
    threads = threading.active_count()
    # `import lightning` sets it; with it, AdamW's every step reloads NVML (~70 us on a machine without a driver).
    monkeypatch.setenv(NVML_CHECK, "1")
    train(train_cfg(*TINY))
    assert NVML_CHECK not in os.environ
    assert threading.active_count() == threads  # e.g. no TensorBoard writer thread left running


def test_extra_callbacks_run_beside_the_configs(train_cfg):
    class CountSteps(L.Callback):
        steps = 0

        def on_train_batch_end(self, trainer, *args):
            self.steps += 1

    counter = CountSteps()
    metrics = train(train_cfg(*TINY, "trainer.max_epochs=2"), extra_callbacks=[counter])
    assert counter.steps == 2 * 10  # data.train_size=600 at batch 64: 10 steps an epoch
    assert metrics["throughput/train_img_s"] > 0  # the config's callbacks still ran


@pytest.mark.parametrize("model,params", [("lenet5_1998", 60_000), ("mlp", 238_510), ("cnn", 421_642)])
def test_other_models_train_and_report_their_size(train_cfg, model, params):
    metrics = train(train_cfg(f"model={model}", *TINY))
    assert metrics["params/trainable"] == params
    assert metrics["test/acc"] > 0.2


def test_cli_run_writes_its_own_dir(tmp_path, data_dir, cli):
    proc = cli("cnnexp.cli.train", [f"paths.data_dir={data_dir}", "data.train_size=500", "trainer.max_epochs=1", *TINY],
               tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (run,) = (tmp_path / "outputs" / "train" / "runs").iterdir()
    assert (run / ".hydra" / "config.yaml").is_file() and (run / "metrics.json").is_file()
    assert "test/acc" in proc.stdout


def test_pooling_by_kernel_sweep_runs_every_point(tmp_path, data_dir, cli):
    proc = cli("cnnexp.cli.train", ["-m", "model.pooling=max,avg,lp,blur,none", "model.kernel_size=3,5",
                                    f"paths.data_dir={data_dir}", "data.train_size=200", "trainer.max_epochs=1", *TINY],
               tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "cnnexp: this sweep launches 10 jobs" in proc.stdout + proc.stderr
    (sweep,) = (tmp_path / "outputs" / "train" / "multiruns").iterdir()
    results = {}
    for job in sweep.glob("*/metrics.json"):
        overrides = yaml.safe_load((job.parent / ".hydra" / "overrides.yaml").read_text())
        swept = ",".join(o for o in overrides if o.startswith(("model.pooling", "model.kernel_size")))
        results[swept] = json.loads(job.read_text())
    assert len(results) == 10
    assert results["model.pooling=max,model.kernel_size=5"]["params/trainable"] == 61_706
    assert results["model.pooling=none,model.kernel_size=5"]["params/trainable"] > 61_706


@pytest.mark.slow
def test_ddp_cpu_two_processes_test_on_the_whole_test_set(tmp_path, data_dir):
    """trainer=ddp_cpu through the real command: rank 0 alone writes, and the synced test accuracy
    (each process tests its half) equals a single-process evaluation of the saved best checkpoint."""
    run_dir = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "cnnexp.cli.train", "trainer=ddp_cpu", f"paths.data_dir={data_dir}",
                           f"hydra.run.dir={run_dir}", "data.train_size=600", "data.val_size=500",
                           "trainer.max_epochs=1", "invariance=none"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Starting with 2 processes" in proc.stdout + proc.stderr
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert (run_dir / "train_ddp_process_1.log").is_file()  # the second rank ran, wrote no run files
    assert len(list((run_dir / "tb").rglob("events.*"))) >= 1 and not list(tmp_path.glob("lightning_logs"))
    (best,) = (run_dir / "checkpoints").glob("best-*.ckpt")

    from cnnexp.data.datamodule import ImageDataModule
    from cnnexp.training.checkpoint import load_classifier

    model = load_classifier(best).eval()
    dm = ImageDataModule(data_dir=str(data_dir))
    dm.setup()
    images, labels = dm.splits["test"]
    assert len(labels) == 10_000
    with torch.no_grad():
        correct = sum((model(images[i:i + 2000].float() / 255).argmax(-1) == labels[i:i + 2000]).sum().item()
                      for i in range(0, 10_000, 2000))
    assert metrics["test/acc"] == pytest.approx(correct / 10_000, abs=1e-6)


def test_lenet5_best_recipe_trains_the_lectures_lenet5(train_cfg):
    """The preset behind the README's best figure: the lecture's LeNet-5 unchanged, SGD with Nesterov
    momentum and label smoothing, per-image distortions, EMA weights tested."""
    cfg = train_cfg("experiment=lenet5_best", "data.train_size=1000", "trainer.max_epochs=1", "invariance=none")
    assert cfg.model._target_ == "cnnexp.models.lenet5.LeNet5" and cfg.optim.optimizer._target_ == "torch.optim.SGD"
    assert cfg.optim.optimizer.nesterov and cfg.optim.label_smoothing > 0 and "ema" in cfg.callbacks
    assert cfg.augment.max_degrees > 0 and not cfg.invariance.enabled
    metrics = train(cfg)
    assert metrics["params/trainable"] == 61_706
    assert 0 <= metrics["test/acc"] <= 1 and metrics["epochs"] == 1


def test_channels_last_run_trains_and_its_checkpoint_loads_channels_last(train_cfg, tmp_path):
    cfg = train_cfg(*TINY)  # channels_last is the default
    metrics = train(cfg)
    nchw = train_cfg(*TINY, "memory_format=contiguous")
    nchw.paths.output_dir = str(tmp_path / "nchw")
    # The same network and seed: only the last bits of the float sums differ.
    assert metrics["test/acc"] == pytest.approx(train(nchw)["test/acc"], abs=0.02)
    model = cnnexp.load_classifier(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt")
    assert model.net.c3.weight.is_contiguous(memory_format=torch.channels_last)
    nchw_model = cnnexp.load_classifier(Path(nchw.paths.output_dir) / "checkpoints" / "last.ckpt")
    assert nchw_model.net.c3.weight.is_contiguous() and not nchw_model.net.c3.weight.is_contiguous(
        memory_format=torch.channels_last)
