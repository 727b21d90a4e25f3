"""Shared fixtures: the real MNIST files (fetched once into the repo's data/) and composed configs."""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from omegaconf import DictConfig, open_dict

from cnnexp.config import compose

REPO = Path(__file__).resolve().parents[1]


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder `build` fills once per test session, by the first xdist worker that asks (the others wait for
    it): xdist's recipe for a session fixture (its loadgroup, which would send the users to one worker, does
    not group under pytest 9)."""
    root = tmp_path_factory.getbasetemp()
    root = root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root  # the workers' common folder
    path = root / name
    with exclusive(root / f"{name}.lock"):
        if not (root / f"{name}.done").exists():
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir()
            build(path)
            (root / f"{name}.done").touch()
    return path


@contextlib.contextmanager
def exclusive(lock_file: Path):
    """One test process at a time (xdist workers) inside the block."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@contextlib.contextmanager
def logging_kept():
    """Every logger's handlers and level as they were before the block: a command run in-process (Hydra configures
    logging) would leave handlers writing to its run's train.log and to captured streams closed by then."""
    loggers = [logging.getLogger(), *(lg for lg in logging.Logger.manager.loggerDict.values()
                                      if isinstance(lg, logging.Logger))]
    before = {lg: (lg.handlers[:], lg.level, lg.disabled, lg.propagate) for lg in loggers}
    try:
        yield
    finally:
        for lg, (handlers, level, disabled, propagate) in before.items():
            lg.handlers[:], lg.disabled, lg.propagate = handlers, disabled, propagate
            lg.setLevel(level)  # and clears the loggers' cached levels


@pytest.fixture(autouse=True)
def logging_restored():
    """Logging as it was before the test (logging_kept), whatever the test ran in this process."""
    with logging_kept():
        yield


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Real MNIST, verified by md5; fetched through the normal routes the first time."""
    from cnnexp.data.datasets import ensure_files

    path = Path(os.environ.get("CNNEXP_DATA_DIR", REPO / "data"))
    with exclusive(path / ".fetch.lock"):  # one worker fetches; the others then find the files verified
        ensure_files("mnist", path)
    return path


@pytest.fixture(scope="session")
def fashion_dir(data_dir) -> Path:
    """Real Fashion-MNIST, verified by md5, beside MNIST; fetched through the normal routes once."""
    from cnnexp.data.datasets import ensure_files

    with exclusive(data_dir / ".fetch.lock"):
        ensure_files("fashion_mnist", data_dir)
    return data_dir


@dataclass
class Ran:
    """What a command run in this process left: as a subprocess.CompletedProcess would tell it."""

    returncode: int
    stdout: str
    stderr: str


def run_main(module: str, args: list[str], cwd: Path) -> int:
    """A command's main() run in this process, as `python -m module *args` from `cwd` would run it: its exit status.
    For what a command does, not what its process does (signals, imports before torch): a subprocess that trains
    pays about 8 s of imports (torch, Lightning) first."""
    import torch

    main = importlib.import_module(module).main
    threads = torch.get_num_threads()  # a job sets its own count (cnnexp.runtime.threads_per_job)
    argv, where = sys.argv, os.getcwd()
    with logging_kept():  # a session fixture's command too, which no test's logging_restored sees
        try:
            os.chdir(cwd)
            sys.argv = [f"cnnexp-{module.rsplit('.', 1)[-1]}", *args]
            main()
            return 0
        except SystemExit as e:
            return e.code if isinstance(e.code, int) else int(e.code is not None)
        finally:
            torch.set_num_threads(threads)
            sys.argv = argv
            os.chdir(where)


@pytest.fixture
def cli(capsys) -> Callable[..., Ran]:
    """`cli(module, args, cwd)`: run_main, with what the command printed."""

    def run(module: str, args: list[str], cwd: Path) -> Ran:
        code = run_main(module, args, cwd)
        out = capsys.readouterr()
        return Ran(code, out.out, out.err)

    return run


def command(module: str, args: list[str], cwd: Path, cli: Callable[..., Ran] | None = None):
    """`python -m module *args` from `cwd`: in this process with `cli` (the fixture), else in a subprocess (for
    launchers and workers that start processes of their own). Either answers returncode, stdout and stderr."""
    if cli:
        return cli(module, args, cwd)
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True, timeout=900)


def refused(proc) -> str:
    """A command's refusal: exit status 2, one line, no traceback; that line."""
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    (line,) = proc.stderr.strip().splitlines()
    return line


def as_from_a_terminal() -> None:
    """A subprocess's preexec_fn: SIGINT handled as in a shell's foreground job (a background job, as a CI
    runner may be, ignores it, and a signal the process was started to ignore stays ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def compose_train(tmp_path: Path, data_dir: Path, *overrides: str) -> DictConfig:
    """The `train` config as cnnexp-train would compose it, shrunk for a test and writing into tmp_path."""
    base = [
        f"paths.data_dir={data_dir}",
        f"paths.root_dir={tmp_path}",
        "data.train_size=600",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        "trainer.accelerator=cpu",
        "invariance=none",
    ]
    cfg = compose("train", [*base, *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "run")
    return cfg


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, data_dir) -> Path:
    """A real run dir with its checkpoints and metrics.json (600 images, 1 epoch, no suite), trained once per test
    session for the tests that read a trained run without changing it."""

    def build(tmp: Path) -> None:
        from cnnexp.training.run import train

        train(compose_train(tmp, data_dir, "data.val_size=500"))

    return built_once(tmp_path_factory, "trained-run", build) / "run"


@pytest.fixture
def train_cfg(tmp_path, data_dir):
    return lambda *overrides: compose_train(tmp_path, data_dir, *overrides)


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


SMALL = ["data.train_size=300", "data.val_size=300", "trainer.max_epochs=1", "invariance=quick",
         "invariance.num_images=100"]


def train(cwd, *overrides: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "cnnexp.cli.train", *overrides, *SMALL],
                          cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.fixture(scope="session")
def sweep_dir(tmp_path_factory, data_dir) -> Path:
    """A 2-job pooling sweep logged to TensorBoard, CSV and MLflow (logger=many), then an MLP run in the same folder
    and cnnexp-report over the three: built once per test session for the TensorBoard and logger modules."""

    def build(tmp_path: Path) -> None:
        train(tmp_path, "-m", "hydra/launcher=joblib", "model.pooling=max,avg", "logger=many",
              f"paths.data_dir={data_dir}")
        (sweep_dir,) = (tmp_path / "outputs" / "train" / "multiruns").iterdir()
        # In this process: the command, not its process, is what the tests read.
        assert run_main("cnnexp.cli.train", ["model=mlp", f"paths.data_dir={data_dir}",
                                             f"hydra.run.dir={sweep_dir / 'mlp'}", *SMALL], tmp_path) == 0
        assert run_main("cnnexp.cli.report", [str(sweep_dir)], tmp_path) == 0

    (found,) = (built_once(tmp_path_factory, "tb-sweep", build) / "outputs" / "train" / "multiruns").iterdir()
    return found


@pytest.fixture(scope="session")
def sweep(sweep_dir):
    """For the TensorBoard modules: TensorBoard on `sweep_dir`. Yields (its URL, {TensorBoard run: metrics.json},
    the folder)."""
    metrics = {str(events.parent.relative_to(sweep_dir)): json.loads((job / "metrics.json").read_text())
               for job in [*sweep_dir.glob("[0-9]*"), sweep_dir / "mlp"] for events in job.rglob("events.out.*")}

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tb = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(sweep_dir), "--host", "127.0.0.1",
                           "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_up(base, tb)
        yield base, metrics, sweep_dir
    finally:
        tb.terminate()
        tb.wait(timeout=30)
