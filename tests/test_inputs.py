"""Every file kind a command reads back, corrupted each way, through each command that reads it; then the inputs
of each command that the other test files do not reach (docs/reference.md, "Bad input": the matrix). The
commands run in this process (conftest.cli: a subprocess would pay ~8 s of imports); a refusal is exit status 2 and one
line, a skip keeps every other job's row, and no file read is changed."""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import pytest
import yaml

from cnnexp.readers import (
    UnreadableFile,
    read_claims,
    read_invariance,
    read_metrics,
    read_overrides,
    read_settings,
    read_trial,
)
from tests.conftest import refused
from tests.test_sweeps import fake_job

GOOD = {  # what cnnexp (or Hydra, or Lightning) writes, per kind: (reader, file name, content)
    "metrics": (read_metrics, "metrics.json", '{\n  "val/acc_best": 0.97,\n  "test/acc": 0.96\n}\n'),
    "overrides": (read_overrides, "overrides.yaml", "- model.pooling=max\n- seed=0\n"),
    "settings": (read_settings, "hparams.yaml", "model: lenet5\nmodel/kernel_size: '5'\nseed: 0\n"),
    "invariance": (read_invariance, "invariance.json", '{"protocol": {"schema": 3}, "consistency": {"value": 1}}\n'),
    "claims": (read_claims, "claims.json", '{"profile": "quick", "claims": [{"id": "C01", "verdict": "HOLDS"}]}\n'),
    "trial": (read_trial, "trial.json", '{"study": "s", "number": 3, "state": "complete"}\n'),
}
WHAT = {"metrics": "a dict of metrics", "overrides": "a list of overrides", "settings": "a dict of settings",
        "invariance": "the invariance suite's results", "claims": "a claims report (claims.json or verdicts.json)",
        "trial": "a trial record"}


def corrupted(kind: str, how: str) -> tuple[bytes, str]:
    """The file's bytes corrupted `how`, and why its reader refuses them."""
    good = GOOD[kind][2].encode()
    wrong = b"{a: 1}\n" if kind == "overrides" else b"[1, 2]\n"
    text = kind in ("overrides", "settings")
    return {"truncated": (good[:-2], "is truncated (no final newline)" if text else
                          "is unreadable (JSONDecodeError)"),
            "wrong schema": (wrong, f"is not {WHAT[kind]}"),
            "empty": (b"", "is empty"),
            "binary": (bytes(range(128, 256)), "is unreadable (UnicodeDecodeError)"),
            # libyaml refuses the nesting as its scanner's error; json (and PyYAML's Python parser) recurse
            "hostile": (b"[" * 10_000 + b"\n", "is unreadable (ScannerError)" if text and yaml.__with_libyaml__
                        else "is unreadable (RecursionError)")}[how]


KINDS, HOWS = list(GOOD), ["truncated", "wrong schema", "empty", "binary", "hostile"]


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("kind", KINDS)
def test_each_reader_refuses_a_corrupted_file_in_one_line_naming_it(tmp_path, kind, how):
    read, name, text = GOOD[kind]
    path = tmp_path / name
    path.write_text(text)
    assert read(path)  # the file as written reads
    data, why = corrupted(kind, how)
    path.write_bytes(data)
    with pytest.raises(UnreadableFile) as e:
        read(path)
    assert str(e.value) == f"{path} {why}" and e.value.brief == f"{name} {why}"


@pytest.mark.parametrize("kind", KINDS)
def test_each_reader_names_a_missing_file_or_a_directory(tmp_path, kind):
    read, name, _ = GOOD[kind]
    with pytest.raises(UnreadableFile, match=f"^{tmp_path / name} is missing$"):
        read(tmp_path / name)
    (tmp_path / name).mkdir()
    with pytest.raises(UnreadableFile, match=rf"^{tmp_path / name} is unreadable \(IsADirectoryError\)$"):
        read(tmp_path / name)


@pytest.mark.parametrize("kind", ["overrides", "settings"])
def test_a_yaml_tag_that_would_run_code_is_refused_without_running_it(tmp_path, kind):
    read, name, _ = GOOD[kind]
    (tmp_path / name).write_text(f"!!python/object/apply:os.system ['touch {tmp_path / 'ran'}']\n")
    with pytest.raises(UnreadableFile, match=r"is unreadable \(ConstructorError\)$"):
        read(tmp_path / name)
    assert not (tmp_path / "ran").exists()


def test_invariance_results_of_another_version_are_refused(tmp_path):
    (tmp_path / "invariance.json").write_text('{"protocol": {"schema": 2}}\n')
    with pytest.raises(UnreadableFile, match=r"is from another version \(schema 2, this one reads 3\)$"):
        read_invariance(tmp_path / "invariance.json")


# cnnexp-report reads these per job; Lightning's hparams.yaml only for TensorBoard's HParams experiment.
REPORT_FILES = {"metrics": "metrics.json", "overrides": ".hydra/overrides.yaml",
                "settings": "tb/version_0/hparams.yaml", "trial": "trial.json"}


def sweep_dir(root: Path) -> Path:
    """Three finished jobs, each with a trial record (as cnnexp-tune writes them)."""
    for n, pooling in enumerate(("max", "avg", "lp")):
        fake_job(root, str(n), [f"model.pooling={pooling}", "seed=0"], {"val/acc_best": 0.9 + n / 100, "test/acc": 0.9})
        (root / str(n) / "trial.json").write_text(json.dumps({"number": n, "state": "complete"}) + "\n")
    return root


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("kind", list(REPORT_FILES))
def test_report_skips_a_job_with_a_corrupted_file_and_reports_the_others(tmp_path, capsys, caplog, kind, how):
    from cnnexp.cli.report import main

    root = sweep_dir(tmp_path)
    data, why = corrupted(kind, how)
    bad = root / "1" / REPORT_FILES[kind]
    bad.write_bytes(data)
    main([str(root)])
    rows = {r["job"]: r for r in csv.DictReader((root / "summary.csv").open())}
    assert [rows[j]["status"] for j in "02"] == ["ok", "ok"] and float(rows["2"]["trial"]) == 2
    if kind == "settings":  # its job is reported; TensorBoard's HParams table leaves it out, saying so in one line
        assert rows["1"]["status"] == "ok"
        assert [r.getMessage() for r in caplog.records] == [f"TensorBoard HParams: {bad} {why}; left out"]
    else:
        assert (rows["1"]["status"], rows["1"]["error"]) == ("unreadable", f"{bad.name} {why}")
        assert f"`1`: {bad.name} {why}" in (root / "summary.md").read_text()
    assert list(root.glob("events.out.tfevents.*")), "the HParams experiment of the readable runs"
    assert "Traceback" not in capsys.readouterr().err and bad.read_bytes() == data


@pytest.mark.parametrize("kind", ["metrics", "settings"])
def test_hparams_experiment_leaves_out_a_corrupted_run_in_one_line(tmp_path, caplog, kind):
    """As cnnexp-claims writes it over its trainings (cnnexp.claims.report)."""
    from cnnexp.hparams import write_experiment_of

    root = sweep_dir(tmp_path)
    settings, metrics = sorted(root.glob("*/tb/*/hparams.yaml")), sorted(root.glob("*/metrics.json"))
    bad = (settings if kind == "settings" else metrics)[1]
    bad.write_bytes(bytes(range(128, 256)))
    write_experiment_of(root, settings, metrics)
    assert [r.getMessage() for r in caplog.records] == [
        f"TensorBoard HParams: {bad} is unreadable (UnicodeDecodeError); left out"]
    assert list(root.glob("events.out.tfevents.*"))


@pytest.mark.parametrize("how", ["truncated", "wrong schema", "binary"])
def test_resume_refuses_a_finished_run_whose_metrics_are_corrupted_and_leaves_it(tmp_path, cli, data_dir, how):
    """Its result cannot be returned, and training again would overwrite a finished run: refused, unchanged."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    data, why = corrupted("metrics", how)
    (run_dir / "metrics.json").write_bytes(data)
    line = refused(cli("cnnexp.cli.train", ["resume=true", f"hydra.run.dir={run_dir}", f"paths.data_dir={data_dir}"],
                       tmp_path))
    assert line == f"cnnexp-train: error: {run_dir / 'metrics.json'} {why}"
    assert (run_dir / "metrics.json").read_bytes() == data and not (run_dir / "checkpoints").exists()


@pytest.mark.parametrize("name,content,why", [
    ("metrics.json", b'{"val/acc_best": 0.9', "is unreadable (JSONDecodeError)"),
    ("invariance.json", b'{"protocol": {"schema": 2}}\n', "is from another version (schema 2, this one reads 3)"),
    ("invariance.json", b"", "is empty"),
])
def test_claims_refuse_a_corrupted_cached_training_before_any_training(tmp_path, cli, monkeypatch, data_dir, name,
                                                                       content, why):
    """A cached training changed after its atomic write is damage to show: refused, naming the dir to delete."""
    from cnnexp.claims import trainings
    from cnnexp.claims.families import all_claims

    monkeypatch.setattr(trainings, "run_key", lambda arm, seed, overrides: f"{arm}_seed{seed}")  # a known dir
    arm = all_claims()["C11"].arms[0][0]
    cached = tmp_path / "claims" / "trainings" / f"{arm}_seed0"
    cached.mkdir(parents=True)
    (cached / "metrics.json").write_text('{"val/acc_best": 0.9}\n')
    (cached / name).write_bytes(content)
    before = {p: p.read_bytes() for p in cached.parent.rglob("*") if p.is_file()}
    line = refused(cli("cnnexp.cli.claims", ["claims=[C11]", f"hydra.run.dir={tmp_path / 'claims'}",
                                            f"paths.data_dir={data_dir}"], tmp_path))
    assert line == f"cnnexp-claims: error: {cached / name} {why}: delete {cached} to train it again"
    assert {p: p.read_bytes() for p in cached.parent.rglob("*") if p.is_file()} == before, "nothing trained"


def test_a_corrupted_budget_comparison_is_left_out_in_one_line(tmp_path, caplog):
    from cnnexp.claims.budgets import read_other

    (tmp_path / "long.json").write_text('{"profile": "long", "claims": [{"id": "C01"}]}\n')  # no verdict
    assert read_other(tmp_path / "long.json") is None
    assert [r.getMessage() for r in caplog.records] == [
        f"claims: {tmp_path / 'long.json'} is not a claims report (claims.json or verdicts.json); no budget comparison"]


@pytest.mark.parametrize("content,why", [
    (b'{not json\n{"op_code": 0}\n', "JSONDecodeError"),
    (b"[1, 2]\n", "TypeError"),
    (bytes(range(128, 256)), "its last line is cut off"),
    (None, "IsADirectoryError"),
])
def test_tune_refuses_to_continue_a_study_whose_journal_is_corrupted(tmp_path, cli, data_dir, content, why):
    journal = tmp_path / "t.journal"
    journal.mkdir() if content is None else journal.write_bytes(content)
    line = refused(cli("cnnexp.cli.tune", ["tune.n_trials=1", f"tune.storage={journal}", f"paths.data_dir={data_dir}",
                                          f"paths.log_dir={tmp_path / 'logs'}"], tmp_path))
    # "written": Optuna reads a journal lazily, the first read can be the study's first write
    assert re.match(rf"cnnexp-tune: error: tune.storage={journal}: cannot be (opened|written): {why}", line), line
    assert content is None or journal.read_bytes() == content
    assert not (tmp_path / "logs").exists()


# The command-line inputs of the matrix that no other test file covers: (command's module, argv, the one line).
GROUP = "a config group takes an option, not null; available options in"
OVERRIDES = [
    ("train", ["logger=null"], f"logger=null: {GROUP} 'logger': csv; many; mlflow; tensorboard"),
    ("train", ["model=null"], f"model=null: {GROUP} 'model': cnn; lenet5; lenet5_1998; lenet5_aps; lenet5_p4; mlp"),
    ("train", ["data=null"], f"data=null: {GROUP} 'data': "),
    ("train", ["-m", "model=lenet5,null"], f"model=lenet5,null: {GROUP} 'model': "),
    ("train", ["logger=[tensorboard,null]"], f"logger=[tensorboard,null]: {GROUP} 'logger': "),
    ("train", ["hydra/launcher=null"], f"hydra/launcher=null: {GROUP} 'hydra/launcher': basic; joblib"),
    ("train", ["logger=[tensorboard,nonesuch]"],
     "Could not load 'logger/nonesuch'; available options in 'logger': csv; many; mlflow; tensorboard"),
    ("eval", ["model=null"], f"model=null: {GROUP} 'model': "),
    ("claims", ["data=null"], f"data=null: {GROUP} 'data': "),
]


@pytest.mark.parametrize("command,args,fragment", OVERRIDES, ids=[" ".join(a) for _, a, _ in OVERRIDES])
def test_a_null_or_unknown_group_option_is_refused_with_the_options(tmp_path, cli, command, args, fragment):
    line = refused(cli(f"cnnexp.cli.{command}", args, tmp_path))
    assert line.startswith(f"cnnexp-{command}: error: ") and fragment in line, line
    assert not list(tmp_path.iterdir()), "nothing written"


def test_tune_refuses_a_null_group(tmp_path, cli):
    assert f"model=null: {GROUP} 'model': " in refused(cli("cnnexp.cli.tune", ["model=null"], tmp_path))


def test_eval_refuses_a_directory_as_checkpoint(tmp_path, cli):
    line = refused(cli("cnnexp.cli.eval", [f"ckpt_path={tmp_path}"], tmp_path))
    assert line == f"cnnexp-eval: error: ckpt_path={tmp_path}: no such file"


@pytest.mark.parametrize("case", ["missing", "a file", "empty", "not writable", "summary.csv a directory",
                                  "a job's log a directory"])
def test_report_input_matrix(tmp_path, cli, monkeypatch, case):
    root = tmp_path / "sweep"
    if case != "missing":
        root.mkdir() if case != "a file" else root.write_text("x")
    if case in ("not writable", "summary.csv a directory", "a job's log a directory"):
        sweep_dir(root)
    if case == "not writable":  # as root, os.access says yes to everything: as if not root
        monkeypatch.setattr(os, "access", lambda path, mode: not (mode & os.W_OK and Path(path) == root))
    if case == "summary.csv a directory":
        (root / "summary.csv").mkdir()
    if case == "a job's log a directory":
        (root / "1" / "metrics.json").unlink()
        (root / "1" / "train.log").unlink()
        (root / "1" / "train.log").mkdir()
        assert cli("cnnexp.cli.report", [str(root)], tmp_path).returncode == 0  # works: the job listed as failed
        rows = {r["job"]: r for r in csv.DictReader((root / "summary.csv").open())}
        assert rows["1"]["status"] == "failed" and rows["0"]["status"] == "ok"
        return
    expected = {"missing": f"{root} is not a directory", "a file": f"{root} is not a directory",
                "empty": f"{root}: no runs found (no .hydra/overrides.yaml below it)",
                "not writable": f"{root} is not writable: the summary is written into it",
                "summary.csv a directory": f"cannot write {root / 'summary.csv'}: Is a directory"}[case]
    assert refused(cli("cnnexp.cli.report", [str(root)], tmp_path)) == f"cnnexp-report: error: {expected}"


@pytest.mark.parametrize("command,args", [("eval", ["ckpt_path=x.ckpt"]), ("claims", []), ("tune", [])])
def test_an_output_dir_through_a_file_is_refused_by_every_command(tmp_path, cli, command, args):
    """cnnexp-train's case: tests/test_bad_inputs.py."""
    (tmp_path / "afile").write_text("not a dir")
    line = refused(cli(f"cnnexp.cli.{command}", [*args, f"paths.log_dir={tmp_path / 'afile' / 'out'}"], tmp_path))
    assert line.startswith(f"cnnexp-{command}: error: output dir ") and \
        line.endswith(f"cannot be created, {tmp_path / 'afile'} is a file (set paths.log_dir)"), line
    assert (tmp_path / "afile").read_text() == "not a dir" and sorted(tmp_path.iterdir()) == [tmp_path / "afile"]
