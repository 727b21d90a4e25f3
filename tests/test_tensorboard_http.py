"""What a user sees in TensorBoard for a finished sweep, read back through TensorBoard's own HTTP API."""

import json
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(base: str, route: str, **params) -> object:
    query = urllib.parse.urlencode({k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()})
    with urllib.request.urlopen(f"{base}{route}?{query}", timeout=10) as response:
        return json.loads(response.read())


def wait_until_up(base: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, proc.stderr.read()[-2000:]
        try:
            get(base, "/data/runs")
            return
        except OSError:
            assert time.monotonic() < deadline, "tensorboard did not answer"
            time.sleep(0.5)


def test_sweep_runs_scalars_hparams_and_layout_over_http(tmp_path, data_dir):
    proc = subprocess.run([sys.executable, "-m", "cnnexp.cli.train", "-m", "hydra/launcher=joblib",
                           "model.pooling=max,avg",
                           f"paths.data_dir={data_dir}", "data.train_size=300", "data.val_size=300",
                           "trainer.max_epochs=1", "invariance=quick", "invariance.num_images=100"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (sweep_dir,) = (tmp_path / "outputs" / "train" / "multiruns").iterdir()
    metrics = {job.name: json.loads((job / "metrics.json").read_text()) for job in sweep_dir.glob("[0-9]*")}

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tb = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(sweep_dir), "--host", "127.0.0.1",
                           "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_up(base, tb)
        # Run names are the jobs' overrides, not version_0.
        runs = get(base, "/data/runs")
        assert sorted(runs) == sorted(metrics)
        assert any("model.pooling=max" in r for r in runs) and any("model.pooling=avg" in r for r in runs)
        for run in runs:
            for tag in ("test/acc", "inv/shift_consistency"):
                ((_, _, value),) = get(base, "/data/plugin/scalars/scalars", run=run, tag=tag)
                assert value == pytest.approx(metrics[run][tag], abs=1e-6)
            assert len(get(base, "/data/plugin/scalars/scalars", run=run, tag="val/acc")) == 1

        experiment = get(base, "/data/plugin/hparams/experiment", request={"experimentName": ""})
        assert "model/pooling" in {h["name"] for h in experiment["hparamInfos"]}
        assert {"test/acc", "inv/shift_consistency"} <= {m["name"]["tag"] for m in experiment["metricInfos"]}
        request = {"experimentName": "", "startIndex": 0, "sliceSize": 10, "aggregationType": "AGGREGATION_AVG",
                   "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
                   "colParams": [{"hparam": "model/pooling"}, {"metric": {"tag": "test/acc", "group": ""}}]}
        groups = get(base, "/data/plugin/hparams/session_groups", request=request)["sessionGroups"]
        assert len(groups) == 2
        for group in groups:
            run = group["name"]
            assert f"model.pooling={group['hparams']['model/pooling']}" in run
            (acc,) = [m["value"] for m in group["metricValues"] if m["name"]["tag"] == "test/acc"]
            assert acc == pytest.approx(metrics[run]["test/acc"], abs=1e-6)

        layout = get(base, "/data/plugin/custom_scalars/layout")
        charts = {c["title"]: [ch["multiline"]["tag"] for ch in c["chart"]] for c in layout["category"]}
        assert ["^train/acc$", "^val/acc$"] in charts["train vs val"]
        assert ["^invariance/rotate/acc$"] in charts["invariance"]
        # Each regex draws exactly its own series (`train/loss` must not also draw `train/loss_step`).
        tags = get(base, "/data/plugin/scalars/tags")[runs[0]]
        for chart in charts["train vs val"]:
            assert [[t for t in tags if re.search(regex, t)] for regex in chart] == [[r[1:-1]] for r in chart]
        assert len(get(base, "/data/plugin/scalars/scalars", run=runs[0], tag="train/lr")) >= 1
    finally:
        tb.terminate()
        tb.wait(timeout=30)
