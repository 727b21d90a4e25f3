"""Bad input through the real commands: exit status 2, one line naming the key or file, no traceback,
nothing written that could be mistaken for a result."""

import subprocess
import sys

import pytest
import torch

TRAIN_OVERRIDES = [
    ("model.kernel_size=0", "model.kernel_size=0"),
    ("model.kernel_size=2.5", "model.kernel_size=2.5"),
    ("model.stride=0", "model.stride=0"),
    ("model.padding=-1", "model.padding=-1"),
    ("model.pooling=median", "model.pooling='median'"),
    ("model.activation=gelu", "model.activation='gelu'"),
    ("model.padding_mode=mirror", "model.padding_mode='mirror'"),
    ("model.pool_stride=0", "model.pool_stride=0"),
    ("model.kernel_size=13", "layer c3"),
    ("model.pool_size=30", "layer s2"),
    ("model.input_size=31", "model.input_size=31"),
    ("model.padding=40 model.padding_mode=reflect", "model.padding=40 with padding_mode=reflect"),
    ("model=cnn model.channels=[]", "model.channels=[]"),
    ("model=mlp model.hidden=[0]", "model.hidden=[0]"),
    ("data.batch_size=0", "data.batch_size=0"),
    ("data.train_size=5", "data.train_size=5"),
    ("data.val_size=-5", "data.val_size=-5"),
    ("data.train_size=70000", "data.train_size=70000: must be <= 55000 (MNIST's 60000 training images"),
    ("data.val_size=60000", "data.val_size=60000: must be < 60000 (MNIST's training images)"),
    ("trainer.gradient_clip_val=-1", "trainer.gradient_clip_val=-1"),
    ("trainer.accumulate_grad_batches=0", "trainer.accumulate_grad_batches=0"),
    ("data.name=imagenet", "data.name='imagenet'"),
    ("trainer.max_epochs=0", "trainer.max_epochs=0"),
    ("trainer.accelerator=tpu", "trainer.accelerator='tpu'"),
    ("optim.optimizer.lr=-0.1", "optim.optimizer.lr=-0.1"),
    ("augment.max_degrees=200", "augment.max_degrees=200"),
    ("augment.scale_range=[1.2,0.8]", "augment.scale_range=[1.2, 0.8]"),
    ("augment.max_shift=-1", "augment.max_shift=-1"),
    ("resume=maybe", "resume='maybe'"),
    ("memory_format=nhwc", "memory_format='nhwc': must be one of contiguous, channels_last"),
    ("seed=-1", "seed=-1"),
    ("invariance.shift_mode=reflect", "invariance.shift_mode='reflect': must be one of zero, circular"),
    ("invariance.canvas=32", "invariance.canvas=32: must be one of image, input"),
    ("invariance.rotate={start:10,stop:0,step:5}", "invariance.rotate={'start': 10, 'stop': 0, 'step': 5}: must be"),
    ("invariance.circular_shifts=[1.5]", "invariance.circular_shifts=[1.5]: must be a list of integers"),
    ("model.kernal_size=3", "Could not override 'model.kernal_size'"),  # a typo in the key
    ("model=lenet7", "Could not find 'model/lenet7'; available options in 'model': cnn; lenet5"),
    ("model.kernel_size=[", "no viable alternative at input '['"),
]
if not torch.cuda.is_available():
    TRAIN_OVERRIDES.append(("trainer=gpu", "trainer.accelerator=gpu: no GPU"))


def run(module: str, args: list[str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def assert_refused(proc: subprocess.CompletedProcess, command: str, fragment: str, cwd) -> None:
    assert proc.returncode == 2, proc.stderr[-1500:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{command}: error: "), proc.stderr[-1500:]
    assert fragment in lines[0]
    assert "Traceback" not in proc.stderr
    assert not list(cwd.rglob("*.ckpt")) and not list(cwd.rglob("metrics.json"))


@pytest.mark.parametrize("override,fragment", TRAIN_OVERRIDES, ids=[o for o, _ in TRAIN_OVERRIDES])
def test_bad_override_is_refused(tmp_path, override, fragment):
    assert_refused(run("cnnexp.cli.train", override.split(), tmp_path), "cnnexp-train", fragment, tmp_path)


def test_data_dir_that_cannot_be_created(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    proc = run("cnnexp.cli.train", [f"paths.data_dir={tmp_path / 'file' / 'data'}"], tmp_path)
    assert_refused(proc, "cnnexp-train", f"cannot create the data dir {tmp_path / 'file' / 'data'}", tmp_path)


def _bad_checkpoints(tmp_path):
    (tmp_path / "text.ckpt").write_text("hello")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.ckpt")
    (tmp_path / "empty.ckpt").write_bytes(b"")
    return [("missing.ckpt", "ckpt_path="), ("text.ckpt", "cannot be read"),
            ("foreign.ckpt", "not a cnnexp checkpoint"), ("empty.ckpt", "cannot be read")]


def test_bad_checkpoints_are_refused_by_eval(tmp_path):
    inputs, work = tmp_path / "inputs", tmp_path / "work"
    inputs.mkdir(), work.mkdir()
    for name, fragment in _bad_checkpoints(inputs):
        proc = run("cnnexp.cli.eval", [f"ckpt_path={inputs / name}"], work)
        assert_refused(proc, "cnnexp-eval", fragment, work)
        assert name in proc.stderr


def test_bad_invariance_setting_is_refused_by_eval_before_the_checkpoint_loads(tmp_path):
    proc = run("cnnexp.cli.eval", ["ckpt_path=missing.ckpt", "invariance.shift_mode=wrap"], tmp_path)
    assert_refused(proc, "cnnexp-eval", "invariance.shift_mode='wrap': must be one of zero, circular", tmp_path)


@pytest.mark.slow
def test_balanced_subset_larger_than_a_class_allows_is_one_line(tmp_path, data_dir):
    # 55,000 = every image left after the hold-out, but MNIST's classes are not equal: 5,500 of each is impossible.
    proc = run("cnnexp.cli.train", [f"paths.data_dir={data_dir}", "data.train_size=55000"], tmp_path)
    assert_refused(proc, "cnnexp-train", "data.train_size=55000: a class-balanced subset needs 5500 images", tmp_path)
