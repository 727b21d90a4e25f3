"""Console output: each Lightning message once, inside Hydra (root logger prints) and outside it."""

import subprocess
import sys

import pytest

SCRIPT = """
import logging
if {root_handler}:
    logging.basicConfig(format="root: %(message)s", level=logging.INFO)
import lightning
from cnnexp.runtime import quiet_lightning
quiet_lightning()
logging.getLogger("lightning.pytorch.trainer").info("fit message")
logging.getLogger("lightning.fabric.utilities").info("fabric message")
logging.getLogger("lightning.pytorch").info("Tip: an advert")
"""


@pytest.mark.parametrize("root_handler", [False, True], ids=["plain-script", "root-handler-as-hydra"])
def test_lightning_messages_print_once_without_tips(root_handler):
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(root_handler=root_handler)],
                         capture_output=True, text=True, check=True)
    text = out.stdout + out.stderr
    assert text.count("fit message") == 1 and text.count("fabric message") == 1, text
    assert "Tip:" not in text
    if root_handler:
        assert "root: fit message" in text


def test_a_run_prints_its_run_dir_whole_on_a_line_of_its_own(tmp_path):
    """Read from a pipe (80 columns for rich), a long run dir must not be cut at the table's width."""
    run_dir = tmp_path / ("a-long-folder-name-" * 6) / "2026-12-07_04-21-31_6730_lenet5"
    code = ("from cnnexp.cli.common import print_metrics; "
            f"print_metrics('cnnexp-train', {str(run_dir)!r}, {{'val/acc_best': 0.5}})")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert f"cnnexp-train: {run_dir}" in out.splitlines()


def test_a_cpu_run_does_not_warn_about_cuda():
    """Compiled evaluation imports torch.utils.cpp_extension, which warns when a CUDA toolkit is installed
    without a runtime (this machine: /usr/local/cuda)."""
    code = ("from cnnexp.runtime import use_default_cuda_check; use_default_cuda_check(); "
            "import torch.utils.cpp_extension")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "CUDA" not in out.stdout + out.stderr
