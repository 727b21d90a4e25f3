"""The loggers besides TensorBoard (conf/logger/), read back with each tool's own reader: pandas for CSV, MLflow's
client and its server's REST API for MLflow. The TensorBoard modules' sweep (conftest) logs to all three at once."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.conftest import free_port

LOGGERS = "logger=[tensorboard,csv,mlflow]"


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@pytest.fixture(scope="module")
def logged(sweep_dir) -> tuple[Path, dict[str, dict], str]:
    """(the sweep dir, {job dir name: its metrics.json}, the MLflow store's URI): conftest's pooling sweep, whose two
    jobs log to all three loggers (logger=many) and open one new MLflow store together. MLflow's experiment is the
    sweep dir below outputs/, its runs the job dirs."""
    jobs = {job.name: json.loads((job / "metrics.json").read_text()) for job in sweep_dir.glob("[0-9]*")}
    assert len(jobs) == 2
    return sweep_dir, jobs, f"sqlite:///{sweep_dir.parents[2] / 'mlflow' / 'mlflow.db'}"


def settings_of(job: Path) -> dict:
    """The HParams columns TensorBoard shows for the job (Lightning's hparams.yaml beside its events)."""
    return yaml.safe_load((job / "hparams.yaml").read_text())


@pytest.mark.slow
def test_csv_logs_each_job_into_a_metrics_csv_that_ends_with_metrics_json(logged):
    import pandas as pd

    sweep_dir, jobs, _ = logged
    for name, metrics in jobs.items():
        table = pd.read_csv(sweep_dir / name / "csv" / "version_0" / "metrics.csv")
        assert table["val/acc"].notna().sum() == 1  # the per-epoch series too (one epoch)
        last = {key: float(table[key].dropna().iloc[-1]) for key in metrics}
        assert all(same(last[k], float(v)) for k, v in metrics.items()), (last, metrics)


@pytest.mark.slow
def test_mlflow_holds_each_job_with_its_hparams_columns_metrics_json_and_the_suites_files(logged, monkeypatch):
    import mlflow
    from mlflow import MlflowClient

    sweep_dir, jobs, uri = logged
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # mlflow.search_runs reads the store from it
    runs = mlflow.search_runs(experiment_names=[f"train/multiruns/{sweep_dir.name}"])
    assert len(runs) == 2 and set(runs["status"]) == {"FINISHED"}
    by_name = {r["tags.mlflow.runName"]: r for _, r in runs.iterrows()}
    assert set(by_name) == set(jobs)  # named as TensorBoard names the jobs: their dirs
    client = MlflowClient(uri)
    for name, metrics in jobs.items():
        run = client.get_run(by_name[name]["run_id"])
        assert run.data.tags["run_dir"] == str(sweep_dir / name)
        # Lightning's MLFlowLogger logs each value as text.
        assert run.data.params == {k: str(v) for k, v in settings_of(sweep_dir / name).items()}
        assert all(same(run.data.metrics[k], float(v)) for k, v in metrics.items()), (run.data.metrics, metrics)
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"invariance.json", "invariance.png"} <= artifacts
        saved = client.download_artifacts(run.info.run_id, "invariance.json", str(sweep_dir / name / "downloaded"))
        assert Path(saved).read_bytes() == (sweep_dir / name / "invariance.json").read_bytes()


@pytest.mark.slow
def test_tensorboard_still_shows_the_final_metrics_beside_the_other_loggers(logged):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    sweep_dir, jobs, _ = logged
    for name, metrics in jobs.items():
        (events,) = (sweep_dir / name).glob("events.out.tfevents.*")
        acc = EventAccumulator(str(events), size_guidance={"scalars": 0})
        acc.Reload()
        assert acc.Scalars("test/acc")[-1].value == pytest.approx(metrics["test/acc"])


def post(base: str, route: str, body: dict) -> dict:
    request = urllib.request.Request(f"{base}{route}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_mlflow_ui_lists_the_runs_over_its_rest_api(logged):
    sweep_dir, jobs, uri = logged
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Its own session: `mlflow ui` starts a worker process, stopped with it.
    ui = subprocess.Popen([sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", "127.0.0.1",
                           "--port", str(port), "--workers", "1"],
                          env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert ui.poll() is None, ui.stderr.read()[-2000:]
            try:
                found = post(base, "/api/2.0/mlflow/experiments/search", {"max_results": 10})["experiments"]
                break
            except OSError:
                assert time.monotonic() < deadline, "mlflow ui did not answer"
                time.sleep(0.5)
        (experiment,) = [e["experiment_id"] for e in found if e["name"] == f"train/multiruns/{sweep_dir.name}"]
        runs = post(base, "/api/2.0/mlflow/runs/search", {"experiment_ids": [experiment]})["runs"]
        listed = {r["info"]["run_name"]: {m["key"]: m["value"] for m in r["data"]["metrics"]} for r in runs}
        assert set(listed) == set(jobs)
        for name, metrics in jobs.items():
            assert listed[name]["test/acc"] == pytest.approx(metrics["test/acc"])
            assert listed[name]["val/acc_best"] == pytest.approx(metrics["val/acc_best"])
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        ui.wait(timeout=30)


def test_many_is_the_list_of_every_logger():
    from cnnexp.config import compose

    many = compose("train", ["logger=many"]).logger
    assert many == compose("train", [LOGGERS]).logger and list(many) == ["tensorboard", "csv", "mlflow"]


@pytest.mark.parametrize("choice,message", [
    ("logger=nonesuch", "Could not find 'logger/nonesuch'; available options in 'logger': csv; many; mlflow; "
                        "tensorboard"),
    ("logger=[tensorboard,nonesuch]", "Could not load 'logger/nonesuch'"),
    ("logger=[]", "logger (none chosen): choose one or more of csv, many, mlflow, tensorboard"),
])
def test_a_bad_logger_choice_is_refused_in_one_line_before_torch_loads(choice, message, tmp_path):
    code = ("import sys; from cnnexp.cli.train import main; sys.argv = ['cnnexp-train', sys.argv[1]]\n"
            "try:\n    main()\nfinally:\n    assert 'torch' not in sys.modules")
    proc = subprocess.run([sys.executable, "-c", code, choice], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
