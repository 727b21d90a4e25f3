"""cnnexp-tune: workers sharing a study in a journal file or a database, studies continued by a second
command, pruning, the dashboard, and bad input refused in one line."""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna
import pytest

from cnnexp.cli.tune import main as tune_main
from cnnexp.errors import ConfigError
from cnnexp.tune.launch import worker_args
from cnnexp.tune.settings import load_settings
from cnnexp.tune.storage import open_storage
from cnnexp.tune.worker import MAX_NAME, run_name
from tests.conftest import as_from_a_terminal, free_port, refused

# Tiny trainings: a few seconds each on 2 cores.
TINY = ("data.train_size=600", "data.val_size=500", "trainer.max_epochs=1", "invariance=none",
        "trainer.enable_progress_bar=false")


def tune(cli, tmp_path: Path, data_dir: Path, *args: str):
    """cnnexp-tune's front in this process (conftest.cli); its workers, if it starts any, are processes of their own."""
    return cli("cnnexp.cli.tune", [f"paths.data_dir={data_dir}", *TINY, *args], tmp_path)


def trials(storage: str, name: str = "lenet5") -> list[optuna.trial.FrozenTrial]:
    if "://" not in storage:
        storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(storage))
    return optuna.load_study(study_name=name, storage=storage).trials


@pytest.mark.slow
def test_two_workers_share_one_study_and_a_second_command_adds_trials(tmp_path, data_dir, cli):
    # One seed for the command: each worker, and the next command, must still draw their own points. A database
    # and submitit's local executor (the SLURM path): tests/test_tune_storage.py.
    storage = "tune.journal"
    # Trials log as a sweep's jobs do: TensorBoard and CSV beside each run, one MLflow run each.
    first = tune(cli, tmp_path, data_dir, "tune.n_trials=3", "tune.workers=2", f"tune.storage={storage}",
                 "tune.sampler.seed=0", "logger=many")
    assert first.returncode == 0, first.stderr[-3000:]
    done = trials(str(tmp_path / storage))
    # Two processes at once: the first two trials ran side by side, each with one of the two cores.
    a, b = sorted(done, key=lambda t: t.number)[:2]
    assert max(a.datetime_start, b.datetime_start) < min(a.datetime_complete, b.datetime_complete)
    second = tune(cli, tmp_path, data_dir, "tune.n_trials=1", f"tune.storage={storage}", "tune.sampler.seed=0",
                  "logger=many")
    assert second.returncode == 0, second.stderr[-3000:]
    done = trials(str(tmp_path / storage))
    assert sorted(t.number for t in done) == [0, 1, 2, 3]
    assert {t.state for t in done} == {optuna.trial.TrialState.COMPLETE}
    assert len({json.dumps(t.params, sort_keys=True) for t in done}) == 4  # distinct points
    study_dir = tmp_path / "outputs" / "tune" / "lenet5"
    runs = sorted(study_dir.glob("*/metrics.json"))
    assert [p.parent.name.split("_")[0] for p in runs] == ["0", "1", "2", "3"]
    threads = [re.search(r"torch threads: (\d)", (p.parent / "train.log").read_text()).group(1) for p in runs]
    assert threads[:3] == ["1"] * 3  # cores / workers, as the joblib launcher shares them
    # Validation selects; the best trial's test accuracy is reported beside it.
    metrics = {int(p.parent.name.split("_")[0]): json.loads(p.read_text()) for p in runs}
    best = json.loads((study_dir / "best.json").read_text())
    assert best["trials"] == {"complete": 4}
    assert best["best"]["val/acc_best"] == max(m["val/acc_best"] for m in metrics.values())
    assert best["best"]["test/acc"] == metrics[best["best"]["number"]]["test/acc"]
    assert (study_dir / "summary.md").read_text().startswith("# Summary: 4 jobs, 4 finished, 0 failed")
    assert not (study_dir / ".submitit").exists()
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'outputs' / 'mlflow' / 'mlflow.db'}")
    logged = client.search_runs([client.get_experiment_by_name("tune/lenet5").experiment_id])
    assert {r.info.run_name: r.data.metrics["val/acc_best"] for r in logged} == {
        p.parent.name: m["val/acc_best"] for p, m in zip(runs, metrics.values())}
    assert all((study_dir / r.info.run_name / "csv" / "version_0" / "metrics.csv").is_file() for r in logged)


@pytest.mark.slow
def test_a_pruned_trial_stops_early_and_is_recorded_as_pruned(tmp_path, data_dir, cli):
    # No 600-image LeNet-5 reaches 99% after one epoch: the threshold pruner stops it there.
    proc = tune(cli, tmp_path, data_dir, "tune.n_trials=1", "tune/pruner=threshold", "tune.pruner.lower=0.99",
                "trainer.max_epochs=3")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (trial,) = trials(str(tmp_path / "outputs" / "tune" / "lenet5" / "optuna.journal"))
    assert trial.state == optuna.trial.TrialState.PRUNED and list(trial.intermediate_values) == [0]
    (run,) = (tmp_path / "outputs" / "tune" / "lenet5").glob("0_*")
    assert not (run / "metrics.json").exists() and list(run.glob("events.out.tfevents.*"))
    assert json.loads((run / "trial.json").read_text())["state"] == "pruned"
    assert "1 jobs, 0 finished, 1 pruned, 0 failed" in (run.parent / "summary.md").read_text()


@pytest.mark.slow
def test_sigint_stops_the_study_in_one_line_and_marks_the_stopped_trial_failed(tmp_path, data_dir):
    cmd = [sys.executable, "-m", "cnnexp.cli.tune", f"paths.data_dir={data_dir}", *TINY, "tune.n_trials=2",
           "trainer.max_epochs=3", "data.train_size=4000"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=as_from_a_terminal)
    study_dir, deadline = tmp_path / "outputs" / "tune" / "lenet5", time.monotonic() + 240
    while not list(study_dir.glob("0_*/checkpoints/last.ckpt")):
        assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint before the study ended"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)  # `kill -INT` reaches cnnexp-tune alone; it stops its workers
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr[-3000:]
    assert [ln for ln in stderr.splitlines() if ln.startswith("cnnexp-tune")] == [
        f"cnnexp-tune: stopped by SIGINT; the study in {study_dir}/optuna.journal keeps its finished trials (a "
        f"stopped one is marked failed): the same command adds trials again"]
    (trial,) = trials(str(study_dir / "optuna.journal"))
    assert trial.state == optuna.trial.TrialState.FAIL


def test_the_dashboard_command_it_prints_serves_the_study_on_localhost(tmp_path, data_dir, cli):
    proc = tune(cli, tmp_path, data_dir, "tune.n_trials=0", "tune.study_name=shown")  # the study, no trial
    assert proc.returncode == 0, proc.stderr[-3000:]
    (line,) = [ln for ln in proc.stdout.splitlines() if "dashboard: " in ln]
    command = shlex.split(line.split("dashboard: ", 1)[1].split("  (")[0])
    port = free_port()
    command[command.index("--port") + 1] = str(port)
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5) as response:
                    studies = json.loads(response.read())["study_summaries"]
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "the dashboard did not start"
                time.sleep(0.5)
    finally:
        server.kill()
        server.wait()
    assert [s["study_name"] for s in studies] == ["shown"]


def space(text: str) -> list[str]:
    """A search space of its own, given on the command line."""
    return ["~tune.search_space", f"+tune.search_space={{{text}}}"]


@pytest.mark.parametrize("args,message", [
    (space("model.kernel_sz:{type:categorical,choices:[3,5]}"),
     "tune.search_space.model.kernel_sz: unknown key 'model.kernel_sz': not in the train config"),
    (space("augment:{type:categorical,choices:[none,blurry]}"),
     "tune.search_space.augment: no option 'blurry' in conf/augment/"),
    (space("optim.optimizer.lr:{type:float,low:0.1,high:0.01}"), "tune.search_space.optim.optimizer.lr: "),
    (space("model.kernel_size:{type:int,low:3,high:13}"),
     "tune.search_space.model.kernel_size: model.kernel_size=13 fails: model: layer c3"),
    (["tune.storage=sqlite:///no/such/dir/t.db"], "tune.storage=sqlite:///no/such/dir/t.db: cannot be opened: "),
    (["tune.storage=made/t.journal/x.journal"], "cannot be opened: "),  # under a file
    (["optimized_metric=time/fit_s", "tune.direction=minimize"], "optimized_metric='time/fit_s': has no per-epoch"),
    (["tune.workers=0"], "tune.workers=0: must be an integer >= 1"),
    (["-m"], "-m: cnnexp-tune takes overrides only"),
    (["optimized_metric=test/acc"], "optimized_metric='test/acc': measured on the official test set"),
])
def test_bad_search_space_or_storage_is_one_line_and_writes_nothing(tmp_path, data_dir, args, message, cli):
    (tmp_path / "made").mkdir()
    (tmp_path / "made" / "t.journal").write_text("")
    line = refused(tune(cli, tmp_path, data_dir, *args))
    assert line.startswith("cnnexp-tune: error: ") and message in line, line
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["made", "t.journal"]


def test_a_study_of_that_name_with_another_metric_or_direction_is_refused(tmp_path, data_dir, cli):
    created = tune(cli, tmp_path, data_dir, "tune.n_trials=0", "tune.storage=t.journal")
    assert created.returncode == 0, created.stderr[-3000:]
    before = (tmp_path / "t.journal").read_bytes()
    for other in (["tune.direction=minimize"], ["optimized_metric=throughput/train_img_s", "tune/pruner=none"]):
        proc = tune(cli, tmp_path, data_dir, "tune.n_trials=1", "tune.storage=t.journal", *other)
        assert proc.returncode == 2, proc.stderr[-3000:]
        (line,) = proc.stderr.strip().splitlines()
        assert line.startswith("cnnexp-tune: error: tune.study_name=lenet5: the study in ") and \
            "is to maximize val/acc_best, this command would" in line
    assert (tmp_path / "t.journal").read_bytes() == before


def test_workers_share_the_trials_exactly_with_distinct_seeds():
    settings = load_settings(["tune.n_trials=5", "tune.workers=2", "tune.sampler.seed=7"])
    args = worker_args(settings, ["tune.n_trials=5", "tune.workers=2", "model.pooling=avg"], trials_before=3,
                       threads=1)
    common = ["tune.workers=1", "trainer.enable_progress_bar=false", "threads=1"]  # bars of 2 workers would clash
    assert args == [["model.pooling=avg", "tune.n_trials=3", *common, "tune.sampler.seed=10"],
                    ["model.pooling=avg", "tune.n_trials=2", *common, "tune.sampler.seed=11"]]
    assert len(worker_args(load_settings(["tune.n_trials=1", "tune.workers=3"]), [], 0, 1)) == 1


@pytest.mark.parametrize("args,message", [
    (["tune.heartbeat.interval=0"], "tune.heartbeat.interval=0: must be an integer >= 1"),
    (["tune.heartbeat.grace_period=60"],
     "tune.heartbeat.grace_period=60: must be longer than tune.heartbeat.interval=60"),
    (["tune.command=''"], "tune.command='': must be a non-empty string or null"),
])
def test_bad_heartbeat_settings_are_refused_naming_the_key(args, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(args)


def test_a_database_url_with_a_query_string_is_refused_unquoted_with_how_to_quote_it(capsys):
    with pytest.raises(SystemExit) as exit:
        tune_main(["tune.storage=postgresql+psycopg2://u@/db?host=/tmp"])
    (line,) = capsys.readouterr().err.splitlines()
    assert exit.value.code == 2 and line == (
        "cnnexp-tune: error: tune.storage=postgresql+psycopg2://u@/db?host=/tmp: quote the URL for Hydra (the = of "
        "its query string ends a value): \"tune.storage='postgresql+psycopg2://u@/db?host=/tmp'\"")


def test_a_relative_sqlite_url_is_a_database_in_the_working_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    optuna.create_study(storage=open_storage("sqlite:///tune.db", (1, 5)), study_name="here")
    assert optuna.get_all_study_names(f"sqlite:///{tmp_path / 'tune.db'}") == ["here"]


def test_a_database_url_without_its_driver_names_the_drivers_to_install():
    with pytest.raises(ConfigError, match=r"^tune.storage=mysql://u@h/db: cannot be opened: its driver is not "
                                          r"installed \(ModuleNotFoundError: .*\); name an installed one: "
                                          r"postgresql\+psycopg2://"):
        open_storage("mysql://u@h/db", (60, 180))


def test_a_key_set_on_the_command_line_is_fixed_not_searched():
    assert "model.pooling" in load_settings([]).space
    assert "model.pooling" not in load_settings(["model.pooling=avg"]).space


def test_run_dirs_are_named_by_trial_number_and_parameters_within_the_file_name_limit():
    assert run_name(7, {"optim.optimizer.lr": 0.0012345, "model.pooling": "max"}) == "7_lr=0.00123,pooling=max"
    assert len(run_name(7, {f"k{i}": 1.0 / 3 for i in range(60)})) == MAX_NAME


def test_slurm_workers_are_one_job_array_with_the_tune_slurm_settings(tmp_path, monkeypatch):
    import submitit

    from cnnexp.tune.launch import submitit_parameters

    (tmp_path / "srun").write_text("#!/bin/sh\n")  # submitit's SLURM executor wants srun on the PATH
    (tmp_path / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    settings = load_settings(["tune.launcher=slurm", "tune.slurm.partition=gpu", "tune.slurm.timeout_min=60"])
    executor = submitit.AutoExecutor(folder=tmp_path / "jobs", cluster="slurm")
    executor.update_parameters(**submitit_parameters(settings))
    text = executor._executor._make_submission_file_text("python -c pass", "uid")
    for line in ("--partition=gpu", "--time=60", "--cpus-per-task=8", "--gpus-per-node=1", "--mem=32GB",
                 "--job-name=cnnexp-tune-lenet5"):
        assert f"#SBATCH {line}" in text
