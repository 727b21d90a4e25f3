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
