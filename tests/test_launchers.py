"""Launchers from Hydra plugins: submitit (local, SLURM config); threads for DDP on the CPU."""

import subprocess
import sys

import pytest

from cnnexp.config import compose
from tests.test_sweeps import sweep


@pytest.mark.slow
def test_submitit_local_sweep_writes_every_job_into_one_sweep_dir(tmp_path, data_dir):
    sweep_dir = sweep(tmp_path, data_dir, "hydra/launcher=submitit_local", "hydra.launcher.cpus_per_task=1",
                      "model.pooling=max,avg")
    assert len(list(sweep_dir.glob("*/metrics.json"))) == 2
    assert len(list(sweep_dir.glob(".submitit/*/*_log.out"))) == 2  # the jobs ran as submitit jobs


def test_slurm_launcher_config_renders_an_sbatch_script(tmp_path):
    from submitit.slurm.slurm import SlurmExecutor, _make_sbatch_string

    cfg = compose("train", ["hydra/launcher=slurm", "hydra.launcher.partition=gpu", "hydra.launcher.gpus_per_node=4"],
                  return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.partition, launcher.gpus_per_node, launcher.timeout_min, launcher.mem_gb,
            launcher.cpus_per_task, launcher.array_parallelism) == ("gpu", 4, 240, 32, 8, 32)
    # The generic names go to sbatch the way submitit maps them.
    names = SlurmExecutor._equivalence_dict()
    params = {names[k]: launcher[k] for k in ("timeout_min", "cpus_per_task", "gpus_per_node", "tasks_per_node")}
    text = _make_sbatch_string("python -c pass", tmp_path, partition=launcher.partition, mem=f"{launcher.mem_gb}GB",
                               array_parallelism=launcher.array_parallelism, map_count=100, **params)
    for line in ("--partition=gpu", "--gpus-per-node=4", "--time=240", "--mem=32GB", "--cpus-per-task=8",
                 "--array=0-99%32"):
        assert f"#SBATCH {line}" in text


@pytest.mark.parametrize("metric,fragment", [("test/accuracy", "not a metric of this run; one of val/acc_best"),
                                             ("test/acc", "measured on the official test set"),
                                             ("inv/shift_consistency", "measured on the official test set")])
def test_test_set_or_unknown_optimized_metric_is_one_line_before_training(tmp_path, metric, fragment):
    proc = subprocess.run([sys.executable, "-m", "cnnexp.cli.train", f"optimized_metric={metric}", "invariance=none"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"cnnexp-train: error: optimized_metric={metric!r}: ") and fragment in line
    assert "import lightning" not in line and not list(tmp_path.rglob("*.ckpt"))


def test_ddp_cpu_processes_share_the_cores():
    import os

    from cnnexp.runtime import cpu_processes, threads_per_job

    cfg = compose("train", ["trainer=ddp_cpu"])
    assert cfg.trainer.strategy.process_group_backend == "gloo" and cpu_processes(cfg.trainer) == 2
    assert threads_per_job(None, cpu_processes(cfg.trainer)) == max(1, (os.cpu_count() or 1) // 2)
    assert threads_per_job(3, 2) == 3  # an explicit `threads` wins

