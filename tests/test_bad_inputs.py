"""Bad input through the real commands (run in this process, conftest.cli): exit status 2, one line
naming the key or file, no traceback, nothing written that could be mistaken for a result."""

import pytest
import torch

from tests.conftest import Ran, refused

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
    ("invariance.figures=maybe", "invariance.figures='maybe': must be true or false"),
    ("invariance.rotate={start:10,stop:0,step:5}", "invariance.rotate={'start': 10, 'stop': 0, 'step': 5}: must be"),
    ("invariance.circular_shifts=[1.5]", "invariance.circular_shifts=[1.5]: must be a list of integers"),
    ("invariance.measures=[consistency,turns]",
     "invariance.measures=['consistency', 'turns']: must be a list of consistency, circular_consistency"),
    ("model.kernal_size=3", "Could not override 'model.kernal_size'"),  # a typo in the key
    ("model=lenet7", "Could not find 'model/lenet7'; available options in 'model': cnn; lenet5"),
    ("model.kernel_size=[", "no viable alternative at input '['"),
]
if not torch.cuda.is_available():
    TRAIN_OVERRIDES.append(("trainer=gpu", "trainer.accelerator=gpu: no GPU"))


def assert_refused(proc: Ran, command: str, fragment: str, cwd) -> None:
    line = refused(proc)
    assert line.startswith(f"{command}: error: ") and fragment in line, line
    assert not list(cwd.rglob("*.ckpt")) and not list(cwd.rglob("metrics.json"))


@pytest.mark.parametrize("override,fragment", TRAIN_OVERRIDES, ids=[o for o, _ in TRAIN_OVERRIDES])
def test_bad_override_is_refused(tmp_path, override, fragment, cli):
    assert_refused(cli("cnnexp.cli.train", override.split(), tmp_path), "cnnexp-train", fragment, tmp_path)
    if override != "trainer=gpu":  # whether a GPU is visible only torch can say, once Hydra has started the run
        assert not (tmp_path / "outputs").exists(), "a run dir for a refused config"


def test_data_dir_that_cannot_be_created(tmp_path, cli):
    (tmp_path / "file").write_text("not a folder")
    proc = cli("cnnexp.cli.train", [f"paths.data_dir={tmp_path / 'file' / 'data'}"], tmp_path)
    assert_refused(proc, "cnnexp-train", f"cannot create the data dir {tmp_path / 'file' / 'data'}", tmp_path)


def _bad_checkpoints(tmp_path):
    (tmp_path / "text.ckpt").write_text("hello")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.ckpt")
    (tmp_path / "empty.ckpt").write_bytes(b"")
    return [("missing.ckpt", "ckpt_path="), ("text.ckpt", "cannot be read"),
            ("foreign.ckpt", "not a cnnexp checkpoint"), ("empty.ckpt", "cannot be read")]


def test_bad_checkpoints_are_refused_by_eval(tmp_path, cli):
    inputs, work = tmp_path / "inputs", tmp_path / "work"
    inputs.mkdir(), work.mkdir()
    for name, fragment in _bad_checkpoints(inputs):
        proc = cli("cnnexp.cli.eval", [f"ckpt_path={inputs / name}"], work)
        assert_refused(proc, "cnnexp-eval", fragment, work)
        assert name in proc.stderr


def test_bad_invariance_setting_is_refused_by_eval_before_the_checkpoint_loads(tmp_path, cli):
    proc = cli("cnnexp.cli.eval", ["ckpt_path=missing.ckpt", "invariance.shift_mode=wrap"], tmp_path)
    assert_refused(proc, "cnnexp-eval", "invariance.shift_mode='wrap': must be one of zero, circular", tmp_path)


def test_every_changed_byte_of_a_checkpoint_is_refused_in_one_line(trained_run, tmp_path):
    import random

    from cnnexp.errors import CheckpointError
    from cnnexp.training.checkpoint import read_checkpoint

    good = (trained_run / "checkpoints" / "last.ckpt").read_bytes()
    read_checkpoint(trained_run / "checkpoints" / "last.ckpt")  # the written digest matches
    rng = random.Random(0)
    for trial in range(40):
        damaged = bytearray(good)
        if trial % 2:
            damaged = damaged[: rng.randrange(len(good))]  # truncated at a random offset
        else:
            pos = rng.randrange(len(good))
            damaged[pos] ^= 1 << rng.randrange(8)  # one flipped bit
        path = tmp_path / f"damaged{trial}.ckpt"
        path.write_bytes(bytes(damaged))
        with pytest.raises(CheckpointError, match=rf"^checkpoint {path} (is corrupted|cannot be read|is not a cnnexp)"):
            read_checkpoint(path)


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))  # unpickling this would create the marker file


def test_a_checkpoint_whose_unpickling_would_run_code_is_refused_without_running_it(tmp_path, cli):
    inputs, work = tmp_path / "inputs", tmp_path / "work"
    inputs.mkdir(), work.mkdir()
    marker = tmp_path / "code-ran"
    torch.save({"cnnexp_config": {}, "state_dict": _RunsCode(marker)}, inputs / "evil.ckpt")
    proc = cli("cnnexp.cli.eval", [f"ckpt_path={inputs / 'evil.ckpt'}"], work)
    assert_refused(proc, "cnnexp-eval", "cannot be read (UnpicklingError)", work)
    assert not marker.exists()


def test_eval_refuses_a_checkpoint_of_another_dataset(trained_run, tmp_path, cli):
    proc = cli("cnnexp.cli.eval", [f"ckpt_path={trained_run / 'checkpoints' / 'last.ckpt'}", "data=fashion_mnist"],
               tmp_path)
    assert_refused(proc, "cnnexp-eval", "data=fashion_mnist: checkpoint", tmp_path)
    assert "was trained on mnist; test it on data=mnist" in proc.stderr


@pytest.mark.parametrize("override,fragment", [("model=mlp", "another model (cnnexp.models.lenet5.LeNet5)"),
                                               ("data=fashion_mnist", "another data (mnist)")])
def test_resume_refuses_a_run_dir_of_another_model_or_dataset(trained_run, tmp_path, data_dir, override, fragment, cli):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(trained_run, run_dir)
    before = (run_dir / "checkpoints" / "last.ckpt").read_bytes()
    proc = cli("cnnexp.cli.train", [override, "resume=true", f"hydra.run.dir={run_dir}", f"paths.data_dir={data_dir}"],
               tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-1500:]
    assert proc.stderr.strip().splitlines() == [f"cnnexp-train: error: resume=true: checkpoint "
                                                f"{run_dir / 'checkpoints' / 'last.ckpt'} was written by a run with "
                                                f"{fragment}; use a new output dir or resume=false"]
    assert (run_dir / "checkpoints" / "last.ckpt").read_bytes() == before


def test_resume_from_a_corrupted_checkpoint_is_refused_and_leaves_it(trained_run, tmp_path, data_dir, cli):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(trained_run, run_dir)
    (run_dir / "metrics.json").unlink()  # a run killed before it finished
    last = run_dir / "checkpoints" / "last.ckpt"
    damaged = bytearray(last.read_bytes())
    damaged[len(damaged) // 2] ^= 0x10
    last.write_bytes(bytes(damaged))
    proc = cli("cnnexp.cli.train", ["resume=true", f"hydra.run.dir={run_dir}", f"paths.data_dir={data_dir}"], tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-1500:]
    assert proc.stderr.strip().splitlines() == [f"cnnexp-train: error: checkpoint {last} is corrupted: its content "
                                                "no longer matches the digest written with it (a changed byte, from "
                                                "the disk or a copy)"]
    assert last.read_bytes() == bytes(damaged)


def test_a_second_process_on_a_run_dir_in_use_is_refused_and_changes_nothing(trained_run, tmp_path, data_dir, cli):
    import fcntl
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(trained_run, run_dir)
    (run_dir / "metrics.json").unlink()  # a killed run, which two users resume at once
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    with open(run_dir / ".lock", "a") as held:  # the first resumer, still running
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        proc = cli("cnnexp.cli.train", ["resume=true", f"hydra.run.dir={run_dir}", f"paths.data_dir={data_dir}"],
                   tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-1500:]
    assert proc.stderr.strip().splitlines() == [f"cnnexp-train: error: run dir {run_dir} is in use by another cnnexp "
                                                "process: wait for it to end, or use another dir"]
    after = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file() and ".hydra" not in p.parts
             and p.suffix != ".log"}
    assert all(after[p] == before[p] for p in after if p in before) and set(after) <= set(before)


def test_an_output_dir_through_a_file_is_refused_before_hydra_makes_it(tmp_path, cli):
    (tmp_path / "afile").write_text("not a dir")
    proc = cli("cnnexp.cli.train", [f"paths.log_dir={tmp_path / 'afile' / 'out'}"], tmp_path)
    assert_refused(proc, "cnnexp-train", f"cannot be created, {tmp_path / 'afile'} is a file", tmp_path)
    assert (tmp_path / "afile").read_text() == "not a dir"


def test_a_new_run_in_a_finished_run_dir_is_refused_and_changes_nothing(trained_run, tmp_path, data_dir, cli):
    """Without resume, a second training in a finished run's dir would overwrite its metrics.json and leave two
    runs' checkpoints side by side: refused before Hydra writes anything, every file as it was."""
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(trained_run, run_dir)
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    proc = cli("cnnexp.cli.train", [f"hydra.run.dir={run_dir}", f"paths.data_dir={data_dir}", "seed=7"], tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-1500:]
    assert proc.stderr.strip().splitlines() == [
        f"cnnexp-train: error: output dir {run_dir} holds a finished run (metrics.json): resume=true keeps it as it "
        "is; for a new run choose another dir"]
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before
