"""Checkpoint writing that a crash cannot leave half-done.

Lightning's own save goes through a temporary file in the system temp dir; when that is on
another file system the final move is a copy, which a kill can interrupt. Writing the temporary
file beside the target and renaming it (os.replace) is atomic on any POSIX file system.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from cnnexp.files import atomic_write_bytes


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(Path(path), buffer.getvalue())
