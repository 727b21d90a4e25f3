"""The README's benchmarks run as written, shrunk to a quick size, and print the figures they exist for.

(sweep_speed.py runs 8 full trainings a round; the sweeps it launches are tested in test_sweeps.py.)
"""

import re

import pytest

from tests import prestarted
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def run(script: str, *args: str) -> str:
    """`python benchmarks/<script> *args` from the repo, as a process of its own (tests/prestarted.py)."""
    proc = prestarted.run(str(REPO / "benchmarks" / script), args, REPO, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_train_speed_interleaves_equal_work_and_prints_both_ratios(data_dir):
    # 1,000 images at batch 128: 8 steps an epoch, interleaved every 3 (the benchmark refuses unequal work).
    out = run("train_speed.py", "--rounds", "1", "--epochs", "2", "--segment", "3", "--train-size", "1000",
              "--data-dir", str(data_dir))
    for side in ("bare Lightning", "cnnexp"):
        assert re.search(rf"round 1: {side} [\d,]+ img/s, hand-written naive [\d,]+ img/s \(ratio \d+\.\d{{3}}\), "
                         r"hand-written channels_last [\d,]+ img/s \(ratio \d+\.\d{3}\)", out), out
    assert re.search(r"median ratio to the naive hand-written loop .*: bare Lightning \d+\.\d{3}, "
                     r"cnnexp \d+\.\d{3} \(target >= 1.0\)", out), out
    assert re.search(r"median ratio to the equally optimised hand-written loop .*: bare Lightning \d+\.\d{3}, "
                     r"cnnexp \d+\.\d{3} \(framework overhead\)", out), out


def test_invariance_speed_prints_its_ratio(data_dir):
    out = run("invariance_speed.py", "--rounds", "1", "--num-images", "300", "--batch-size", "100",
              "--data-dir", str(data_dir))
    assert re.search(r"round 1: plain [\d,]+ img/s, transformed [\d,]+ img/s, ratio \d+\.\d{3}", out), out


def test_eval_speed_prints_its_ratio_and_that_predictions_agree(data_dir):
    # Batches of 500: one graph, the one test_eval's compiled test compiles too (inductor's on-disk cache shares it;
    # each is a cold compile of about 10 CPU-s on a new machine).
    out = run("eval_speed.py", "--rounds", "1", "--passes", "1", "--num-images", "500", "--batch-size", "500",
              "--train-size", "500", "--data-dir", str(data_dir))
    assert re.search(r"cnnexp \(compiled\): compiled in \d+\.\d\d s", out), out
    assert re.search(r"round 1: eager NCHW [\d,]+ img/s, channels_last [\d,]+ img/s, cnnexp \(compiled\) [\d,]+ img/s",
                     out), out
    assert re.search(r"median ratio to eager NCHW: channels_last \d+\.\d{3}, cnnexp \(compiled\) \d+\.\d{3} "
                     r"\(target >= 1.4x", out), out
    agreement = (r"\(compiled\): top-1 agreement with eager \d+\.\d\d% of 10,000 test images, "
                 r"largest logit difference \d\.\d\de[-+]\d\d")
    assert re.search(agreement, out), out


def test_startup_prints_refusal_and_first_step_times(data_dir):
    out = run("startup.py", "--rounds", "1", "--data-dir", str(data_dir))
    assert re.search(r"median: refusal \d+\.\d\d s \(target < 3 s\), first step \d+\.\d\d s \(target < 8 s\)", out), out


def test_gpu_check_runs_on_the_cpu_shrunk_and_prints_every_part(data_dir, tmp_path):
    import gzip

    # The staged form prep.py gives the GPU machine: the MNIST files gzip-compressed.
    staged = tmp_path / "stage" / "MNIST" / "raw"
    staged.mkdir(parents=True)
    for raw in (data_dir / "MNIST" / "raw").iterdir():
        (staged / f"{raw.name}.gz").write_bytes(gzip.compress(raw.read_bytes(), compresslevel=1))
    out = run("gpu/check.py", "--device", "cpu", "--data-gz", str(tmp_path / "stage"), "--epochs", "1",
              "--train-size", "1000", "--batches", "128", "--precisions", "32-true", "--suite-images", "200",
              "--claims-timeout", "600", "--claims-args", "claims=[C04]")
    assert re.search(r"\| 128 \| 32-true \| [\d,]+ \| [\d,]+ \| \d+\.\d{3} \| [\d,]+ \(\d+\.\d\dx\) \|", out), out
    assert re.search(r"plain [\d,]+ img/s, suite [\d,]+ img/s, ratio \d+\.\d{3}", out), out
    assert re.search(r"exit 0, wall \d+ s, 1 verdict rows", out), out
    assert "failed" not in out


def test_layer_profile_speed_prints_its_ratio(data_dir):
    out = run("layer_profile_speed.py", "--rounds", "1", "--num-images", "100", "--data-dir", str(data_dir))
    assert re.search(r"round 1: profile \d+\.\d{3} s, one plain pass \d+\.\d{4} s, profile = \d+\.\d plain passes",
                     out), out
    assert re.search(r"median: the profile costs \d+\.\d plain forward passes \(target <= 20", out), out


def test_sweep_job_prints_its_split_and_ratio(data_dir):
    shrunk = ["invariance.num_images=200", "invariance.layers.images=20", "invariance.equivariance_images=20",
              "data.train_size=300"]
    out = run("sweep_job.py", "--rounds", "1", "--data-dir", str(data_dir), *(f"--set={s}" for s in shrunk))
    for side in ("before", "now"):
        assert re.search(rf"round 1, {side}: \d+\.\d s \(imports \d+\.\d, data \d+\.\d, fit \d+\.\d, .*suite \d+\.\d, "
                         r"figures \d+\.\d, tensorboard \d+\.\d, other \(start-up, Lightning\) -?\d+\.\d\)", out), out
    assert re.search(r"median wall: before \d+\.\d s, now \d+\.\d s; ratio before/now \d+\.\d\dx", out), out
