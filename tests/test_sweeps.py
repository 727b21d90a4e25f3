"""Sweeps: presets, the joblib launcher, failing points, and cnnexp-report's tables."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.types import RunMode

from cnnexp.config import compose
from cnnexp.sweeps.summary import report
from tests.conftest import command

PRESETS = {"kernel_size": {"model.kernel_size": "3,5,7"}, "stride": {"model.stride": "1,2", "model.padding": "0,2"},
           "padding": {"model.padding": "0,2", "model.padding_mode": "zeros,circular,reflect"},
           "pooling": {"model.pooling": "max,avg,lp,blur,none"},
           "augment": {"augment": "none,shift,rotate,scale,affine"}, "fc_vs_cnn": {"model": "mlp,lenet5,cnn"},
           "ladder": {"experiment": "ladder_lenet5,ladder_circular_gap,ladder_blur,ladder_aps,ladder_aps_shift"}}


@pytest.mark.parametrize("name", PRESETS)
def test_sweep_presets_launch_their_grid_over_three_seeds_by_themselves(name):
    cfg = compose("train", [f"sweep={name}"], return_hydra_config=True)
    assert dict(cfg.hydra.sweeper.params) == PRESETS[name] | {"seed": "0,1,2"}
    assert cfg.hydra.mode == RunMode.MULTIRUN  # no -m needed


def test_every_point_of_the_ladder_is_valid():
    from cnnexp.config import sweep_points
    from cnnexp.sweeps.points import invalid_points

    cfg = compose("train", ["sweep=ladder"], return_hydra_config=True)
    points = sweep_points(cfg.hydra.sweeper, [])
    assert len(points) == 15 and invalid_points("train", points) == []


def sweep(tmp_path: Path, data_dir: Path, *args: str, stderr: list | None = None, cli=None) -> Path:
    """A small cnnexp-train -m from `tmp_path`: its sweep dir. With `cli` (conftest.cli) in this process, as the
    basic launcher runs its jobs in the command's own; without, in a subprocess (launchers that start processes)."""
    argv = ["-m", *args, f"paths.data_dir={data_dir}", "data.train_size=500", "data.val_size=500",
            "trainer.max_epochs=1", "invariance=none"]
    proc = command("cnnexp.cli.train", argv, tmp_path, cli)
    assert proc.returncode == 0, proc.stderr[-2000:]
    if stderr is not None:
        stderr.append(proc.stderr)
    (sweep_dir,) = (tmp_path / "outputs" / "train" / "multiruns").iterdir()
    return sweep_dir


@pytest.mark.slow
def test_joblib_sweep_then_report(tmp_path, data_dir):
    sweep_dir = sweep(tmp_path, data_dir, "hydra/launcher=joblib", "model.pooling=max,avg", "augment=none,shift")
    assert len(list(sweep_dir.glob("*/metrics.json"))) == 4  # every job in the one sweep dir
    # The launcher's default n_jobs=-1 runs one job per core, so each job gets one torch thread.
    for log in sweep_dir.glob("*/train.log"):
        assert "torch threads: 1" in log.read_text()
    report(sweep_dir)
    rows = list(csv.DictReader((sweep_dir / "summary.csv").open()))
    assert len(rows) == 4 and {r["status"] for r in rows} == {"ok"}
    assert {(r["model.pooling"], r["augment"]) for r in rows} == {("max", "none"), ("max", "shift"),
                                                                   ("avg", "none"), ("avg", "shift")}
    md = (sweep_dir / "summary.md").read_text()
    assert "Grouped by model.pooling, augment" in md and md.count("\n| max |") + md.count("\n| avg |") == 4
    assert (sweep_dir / "summary.png").is_file()


@pytest.mark.slow
def test_invalid_points_are_listed_before_the_sweep_and_the_rest_run(tmp_path, data_dir, cli):
    # Kernel sizes 11 and 12 leave no pixels for LeNet-5's later layers; 3..10 fit.
    stderr = []
    sweep_dir = sweep(tmp_path, data_dir, "model.kernel_size=3,11,10,12", stderr=stderr, cli=cli)
    block = stderr[0][stderr[0].index("cnnexp-train: 2 of 4 sweep points are invalid"):].splitlines()
    assert block[1].startswith("  model.kernel_size=11: model: layer s4") and "layer c3" in block[2]
    report(sweep_dir)
    rows = {r["model.kernel_size"]: r for r in csv.DictReader((sweep_dir / "summary.csv").open())}
    assert sorted(k for k, r in rows.items() if r["status"] == "ok") == ["10", "3"]
    assert "layer s4" in rows["11"]["error"] and "layer c3" in rows["12"]["error"]
    md = (sweep_dir / "summary.md").read_text()
    assert md.startswith("# Summary: 4 jobs, 2 finished, 2 failed")


def test_sweep_check_composes_presets_and_costs_no_torch():
    code = ("import sys; from cnnexp.cli.common import check_overrides; "
            "check_overrides('train', 'cnnexp-train', ['x', 'sweep=pooling', 'model.kernel_size=5,12']); "
            "assert 'torch' not in sys.modules")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("cnnexp-train: 15 of 30 sweep points are invalid") and len(lines) == 16
    assert lines[1].startswith("  model.pooling=max,seed=0,model.kernel_size=12: model: layer c3")


@pytest.mark.slow
def test_resumed_sweep_skips_finished_jobs_and_continues_the_others(tmp_path, data_dir, cli):
    sweep_dir = sweep(tmp_path, data_dir, "model.pooling=max,avg", cli=cli)
    done, cut = sorted(sweep_dir.glob("[0-9]*"))
    finished = (done / "metrics.json").read_bytes(), (done / "metrics.json").stat().st_mtime_ns
    (cut / "metrics.json").unlink()  # as if killed after its last checkpoint
    assert (cut / "checkpoints" / "last.ckpt").is_file()
    for run in tmp_path.glob("outputs/train/multiruns/*"):
        assert run == sweep_dir
    sweep(tmp_path, data_dir, "model.pooling=max,avg", "resume=true", f"hydra.sweep.dir={sweep_dir}", cli=cli)
    assert sorted(sweep_dir.glob("[0-9]*")) == [done, cut]  # the same job dirs, none added
    assert ((done / "metrics.json").read_bytes(), (done / "metrics.json").stat().st_mtime_ns) == finished
    assert "already finished" in (done / "train.log").read_text()
    assert "resume: continuing" in (cut / "train.log").read_text() and (cut / "metrics.json").is_file()


def fake_job(root: Path, name: str, overrides: list[str], metrics: dict | None, log: str = "") -> None:
    job = root / name
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if metrics is not None:
        (job / "metrics.json").write_text(json.dumps(metrics))
    (job / "train.log").write_text(log)
    # The HParams columns Lightning writes beside the events: the sweep's experiment summary reads them.
    (job / "tb" / "version_0").mkdir(parents=True)
    (job / "tb" / "version_0" / "hparams.yaml").write_text("".join(f"{o.replace('=', ': ', 1)}\n" for o in overrides))


def test_report_ranks_by_validation_groups_seeds_with_a_t_interval_and_lists_failures(tmp_path):
    fake_job(tmp_path, "0", ["model.pooling=max", "seed=0"], {"val/acc_best": 0.97, "test/acc": 0.90})
    fake_job(tmp_path, "1", ["model.pooling=max", "seed=1"], {"val/acc_best": 0.97, "test/acc": 0.92})
    fake_job(tmp_path, "2", ["model.pooling=avg", "seed=0"], {"val/acc_best": 0.96, "test/acc": 0.95})
    fake_job(tmp_path, "3", ["model.pooling=avg", "seed=1"], None,
             "[2026-11-25][cnnexp-train][ERROR] - cnnexp-train: error: loss became nan at epoch 0\n")
    report(tmp_path)
    rows = list(csv.DictReader((tmp_path / "summary.csv").open()))
    assert len(rows) == 4 and [r["status"] for r in rows].count("failed") == 1
    md = (tmp_path / "summary.md").read_text()
    lines = [ln for ln in md.splitlines() if ln.startswith("| avg") or ln.startswith("| max")]
    # Best validation first, although avg's test accuracy is higher: validation selects, test reports.
    assert lines[0].startswith("| max | 2 | 0.9700 | 0.0000 | 0.9100 | 0.1271")
    # max: mean 0.91, half-width t(0.975, 1) * sd / sqrt(2) = 12.706 * 0.014142 / 1.4142 = 0.1271
    assert lines[1].startswith("| avg | 1 | 0.9600 | n/a | 0.9500 | n/a")
    assert "`3`: cnnexp-train: error: loss became nan at epoch 0" in md


def test_report_writes_its_groups_as_a_booktabs_table_with_the_same_numbers_and_escaped_names(tmp_path):
    fake_job(tmp_path, "0", ["experiment=ladder_aps", "seed=0"], {"val/acc_best": 0.97, "test/acc": 0.90})
    fake_job(tmp_path, "1", ["experiment=ladder_aps", "seed=1"], {"val/acc_best": 0.97, "test/acc": 0.92})
    fake_job(tmp_path, "2", ["experiment=50%_&_#1", "seed=0"], {"val/acc_best": 0.96, "test/acc": 0.95})
    report(tmp_path)
    tex = (tmp_path / "summary.tex").read_text()
    assert [tex.count(rule) for rule in ("\\toprule", "\\midrule", "\\bottomrule")] == [1, 1, 1]
    lines = tex.splitlines()
    header = lines[lines.index("\\toprule") + 1]
    assert header == "experiment & runs & val/acc\\_best (ranks) & test/acc (reported) \\\\"
    body = lines[lines.index("\\midrule") + 1:lines.index("\\bottomrule")]
    rows = [ln.removesuffix(" \\\\").split(" & ") for ln in body]
    # summary.md's rows, cell for cell: mean and half-width joined, the best validation in bold, names escaped.
    md = [ln.strip("| ").split(" | ") for ln in (tmp_path / "summary.md").read_text().splitlines()
          if ln.startswith(("| ladder", "| 50%"))]
    assert [r[0] for r in md] == ["ladder_aps", "50%_&_#1"]
    assert rows == [["ladder\\_aps", "2", "\\textbf{0.9700 $\\pm$ 0.0000}", "0.9100 $\\pm$ 0.1271"],
                    ["50\\%\\_\\&\\_\\#1", "1", "0.9600 $\\pm$ n/a", "0.9500 $\\pm$ n/a"]]
    assert [[r[1], f"{r[2]} $\\pm$ {r[3]}", f"{r[4]} $\\pm$ {r[5]}"] for r in md] == [
        [row[1], row[2].removeprefix("\\textbf{").removesuffix("}"), row[3]] for row in rows]
    # And summary.csv's jobs average to those means.
    jobs = list(csv.DictReader((tmp_path / "summary.csv").open()))
    for row, name in zip(rows, ("ladder_aps", "50%_&_#1")):
        mine = [j for j in jobs if j["experiment"] == name]
        assert f"{sum(float(j['test/acc']) for j in mine) / len(mine):.4f}" == row[3].split()[0]
    assert "not used to select" in tex and "booktabs" in tex.splitlines()[0]


def test_report_on_a_dir_without_runs_is_an_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "cnnexp.cli.report", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2 and "no runs found" in proc.stderr


@pytest.mark.parametrize("preset,command_line,jobs", [("pooling", [], 15), ("pooling", ["augment=none,shift"], 30),
                                                      (None, ["model.kernel_size=3,5", "model.pooling=max,avg,lp"], 6),
                                                      ("pooling", ["seed=0"], 5)])
def test_job_count_of_a_sweep(preset, command_line, jobs):
    from omegaconf import open_dict

    from cnnexp.sweeps.points import count_jobs

    cfg = compose("train", [f"sweep={preset}"] if preset else [], return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.overrides.task = command_line  # as Hydra records a -m command line
    assert count_jobs(cfg) == jobs


def test_report_lists_a_job_with_a_corrupted_file_as_unreadable_and_reports_the_others(tmp_path):
    fake_job(tmp_path, "0", ["model.pooling=max", "seed=0"], {"val/acc_best": 0.97, "test/acc": 0.90})
    fake_job(tmp_path, "1", ["model.pooling=avg", "seed=0"], {"val/acc_best": 0.96, "test/acc": 0.95})
    fake_job(tmp_path, "2", ["model.pooling=lp", "seed=0"], {"val/acc_best": 0.95})
    (tmp_path / "2" / "metrics.json").write_text('{"val/acc_best": 0.9')  # cut off mid-write
    fake_job(tmp_path, "3", ["model.pooling=blur", "seed=0"], {"val/acc_best": 0.94})
    (tmp_path / "3" / ".hydra" / "overrides.yaml").write_bytes(b"- [model.pooling\xff")
    fake_job(tmp_path, "4", ["model.pooling=none", "seed=0"], None)
    (tmp_path / "4" / "metrics.json").write_text("[1, 2]")  # valid JSON, not metrics
    report(tmp_path)
    rows = {r["job"]: r for r in csv.DictReader((tmp_path / "summary.csv").open())}
    assert [rows[j]["status"] for j in "01234"] == ["ok", "ok", "unreadable", "unreadable", "unreadable"]
    assert rows["2"]["error"] == "metrics.json is unreadable (JSONDecodeError)"
    assert rows["3"]["error"] == "overrides.yaml is unreadable (UnicodeDecodeError)"
    assert rows["4"]["error"] == "metrics.json is not a dict of metrics"
    md = (tmp_path / "summary.md").read_text()
    assert md.startswith("# Summary: 5 jobs, 2 finished, 0 failed, 3 unreadable")
    assert "Grouped by model.pooling;" in md and "| max | 1 | 0.9700" in md
    assert "`3`: overrides.yaml is unreadable" in md
    assert list(tmp_path.glob("events.out.tfevents.*"))  # the HParams summary, over the readable metrics
