"""Shared fixtures: the real MNIST files (fetched once into the repo's data/) and composed configs."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from omegaconf import DictConfig, open_dict

from cnnexp.config import compose

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Real MNIST, verified by md5; fetched through the normal routes the first time."""
    from cnnexp.data.datasets import ensure_files

    path = Path(os.environ.get("CNNEXP_DATA_DIR", REPO / "data"))
    ensure_files("mnist", path)
    return path


@pytest.fixture(scope="session")
def fashion_dir(data_dir) -> Path:
    """Real Fashion-MNIST, verified by md5, beside MNIST; fetched through the normal routes once."""
    from cnnexp.data.datasets import ensure_files

    ensure_files("fashion_mnist", data_dir)
    return data_dir


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


@pytest.fixture
def train_cfg(tmp_path, data_dir):
    return lambda *overrides: compose_train(tmp_path, data_dir, *overrides)
