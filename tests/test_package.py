"""The package as users get it: a wheel that runs from any directory, and a torch-free front."""

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_commands_import_no_torch_before_their_job():
    """A bad command line must be refused in about a second: the front (cli, config, validation) loads
    without torch or Lightning."""
    code = ("import sys, cnnexp.cli.train, cnnexp.cli.eval, cnnexp.cli.claims, cnnexp.cli.report, cnnexp.cli.tune, "
            "cnnexp.validate; "
            "heavy = sorted(m for m in ('torch', 'lightning') if m in sys.modules); print(heavy); assert not heavy")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]


@pytest.mark.slow
def test_wheel_installs_and_runs_from_any_directory(tmp_path, data_dir):
    """`pip install .` (not editable) in a fresh venv, then the commands work outside the checkout."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path / "dist"), str(REPO)], check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("cnnexp-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"cnnexp/{p.relative_to(REPO / 'src' / 'cnnexp')}" for p in (REPO / "src" / "cnnexp").rglob("*.py")}
    expected |= {f"cnnexp/conf/{p.relative_to(REPO / 'conf')}" for p in (REPO / "conf").rglob("*.yaml")}
    assert expected <= shipped, sorted(expected - shipped)  # every module and config

    # A venv of its own; the dependencies come from this one's site-packages through a .pth line, which
    # does not run this venv's .pth files (so its editable cnnexp stays out of sight).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    (site,) = venv.glob("lib/python*/site-packages")
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                    "--no-deps", str(wheel)], check=True, capture_output=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], cwd=elsewhere, capture_output=True,
                              text=True, timeout=300)

    where = run("python", "-c", "import cnnexp.config as c; print(c.__file__); print(c.CONF_DIR)").stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where
    refused = run("cnnexp-train", "model.kernel_size=13")
    assert refused.returncode == 2 and "layer c3" in refused.stderr, refused.stderr[-2000:]
    trained = run("cnnexp-train", f"paths.data_dir={data_dir}", "data.train_size=500", "data.val_size=500",
                  "trainer.max_epochs=1", "invariance=none")
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert len(list(elsewhere.glob("outputs/train/runs/*/metrics.json"))) == 1


def test_setuptools_lists_every_package_and_config_group():
    """Each folder that ships is in pyproject's `packages`: setuptools warns about (and may drop) one that is
    not, and `make setup` would print a screen of warnings per config group."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    code = {".".join(p.parent.relative_to(REPO / "src").parts) for p in (REPO / "src" / "cnnexp").rglob("__init__.py")}
    conf = {".".join(("cnnexp", *d.relative_to(REPO).parts)) for d in [REPO / "conf", *(REPO / "conf").rglob("*/")]
            if d.is_dir() and "__pycache__" not in d.parts}
    assert listed == code | conf
