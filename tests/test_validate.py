"""Bad configs are refused before any work with one line naming the key, the value and what is allowed."""

import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from cnnexp.errors import ConfigError
from cnnexp.validate import validate

BAD = [
    ("model.kernel_size=0", "model.kernel_size=0: must be an integer >= 1"),
    ("model.stride=0", "model.stride=0: must be an integer >= 1"),
    ("model.padding=-1", "model.padding=-1: must be an integer >= 0"),
    ("model.pooling=median", "model.pooling='median': must be one of max, avg, lp, blur, none"),
    ("model.activation=gelu", "model.activation='gelu': must be one of relu, tanh"),
    ("model.padding_mode=mirror", "model.padding_mode='mirror': must be one of zeros, circular, reflect"),
    ("model.kernel_size=13", "layer c3"),
    ("model.pool_size=30", "layer s2"),
    ("data.batch_size=0", "data.batch_size=0: must be an integer >= 1"),
    ("data.train_size=5", "data.train_size=5: must be an integer >= 10"),
    ("data.name=imagenet", "data.name='imagenet': must be one of mnist, fashion_mnist, cifar10"),
    ("model.input_size=31", "model.input_size=31: must exceed data.image_size=28 by an even number"),
    ("trainer.max_epochs=0", "trainer.max_epochs=0: must be an integer >= 1"),
    ("trainer.accelerator=tpu", "trainer.accelerator='tpu': must be one of"),
    ("optim.optimizer.lr=0", "optim.optimizer.lr=0: must be a number > 0"),
    ("optim.label_smoothing=1", "optim.label_smoothing=1: must be a number in [0, 1)"),
    ("optim=sgd_onecycle optim.label_smoothing=-0.1", "optim.label_smoothing=-0.1: must be a number in [0, 1)"),
    ("model.kernel_size=2.5", "model.kernel_size=2.5: must be an integer >= 1"),
    ("data.on_device=yes", "data.on_device='yes': must be true or false"),
    ("data.on_device=1", "data.on_device=1: must be true or false"),
    ("model.padding=40 model.padding_mode=reflect", "layer c1 gets a 32x32 input; reflect padding must be < 32"),
]


@pytest.mark.parametrize("override,message", BAD, ids=[b[0] for b in BAD])
def test_bad_value_is_named(train_cfg, override, message):
    cfg = train_cfg(*override.split())
    with pytest.raises(ConfigError) as err:
        validate(OmegaConf.to_container(cfg, resolve=True))
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("model", ["lenet5", "lenet5_1998", "mlp", "cnn"])
def test_every_shipped_model_config_is_valid(train_cfg, model):
    validate(OmegaConf.to_container(train_cfg(f"model={model}"), resolve=True))


@pytest.mark.parametrize("optim", ["adamw_onecycle", "sgd", "sgd_onecycle"])
def test_every_shipped_optim_config_is_valid(train_cfg, optim):
    validate(OmegaConf.to_container(train_cfg(f"optim={optim}"), resolve=True))


@pytest.mark.parametrize("pooling", ["max", "avg", "lp", "blur", "none"])
@pytest.mark.parametrize("kernel", [3, 5])
def test_lecture_sweep_points_are_valid(train_cfg, pooling, kernel):
    validate(OmegaConf.to_container(train_cfg(f"model.pooling={pooling}", f"model.kernel_size={kernel}"), resolve=True))


def test_validation_does_not_import_torch():
    code = ("import sys; from cnnexp.validate import validate; "
            "assert 'torch' not in sys.modules and 'lightning' not in sys.modules, 'heavy import'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_runs_started_together_get_separate_dirs(tmp_path):
    """Even when started by a process that once resolved a run stamp (a script or a test that composed a config
    in-process: its children would inherit the stamp and share one run dir)."""
    import os

    # A valid config whose data is missing: refused after Hydra has made the run dir.
    cmd = [sys.executable, "-m", "cnnexp.cli.train", f"paths.data_dir={tmp_path / 'none'}", "data.download=false"]
    env = {**os.environ, "CNNEXP_RUN_STAMP": f"{os.getpid()}:2026-01-01_00-00-00_{os.getpid()}"}
    procs = [subprocess.Popen(cmd, cwd=tmp_path, stderr=subprocess.DEVNULL, env=env) for _ in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [2, 2]
    assert len(list((tmp_path / "outputs" / "train" / "runs").iterdir())) == 2


def test_a_command_checks_its_config_once(train_cfg):
    """The command line's config is checked before Hydra starts, then the job reads the same config with its run
    dir set: one pass. Another content is checked anew, and a bad one refused by name."""
    from omegaconf import open_dict

    from cnnexp.validate import checked

    calls = []

    def check(config):
        calls.append(config["model"]["pooling"])

    command_line = train_cfg("model.pooling=avg")
    with open_dict(command_line):
        command_line.paths.output_dir = "${hydra:runtime.output_dir}"  # as composed before Hydra runs
    assert checked(command_line, check)["paths"]["output_dir"] == ""
    job = train_cfg("model.pooling=avg")
    assert checked(job, check)["paths"]["output_dir"] == job.paths.output_dir != ""
    checked(train_cfg("model.pooling=max"), check)
    assert calls == ["avg", "max"]
    with pytest.raises(ConfigError, match="model.pooling"):
        checked(train_cfg("model.pooling=median"))
