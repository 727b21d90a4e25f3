"""OmegaConf resolvers the configs use: ${cwd:}, ${pid:}, ${isatty:}."""

from __future__ import annotations

import os
import sys

from omegaconf import OmegaConf


def register() -> None:
    OmegaConf.register_new_resolver("cwd", os.getcwd, replace=True)
    # Unique among running processes: two runs started in the same second get different dirs.
    OmegaConf.register_new_resolver("pid", os.getpid, replace=True)
    # Progress bars for people at a terminal, quiet logs in CI and pipes.
    OmegaConf.register_new_resolver("isatty", lambda: sys.stderr.isatty(), replace=True)
