"""cnnexp checkpoints: written atomically, loaded as a ready classifier (`cnnexp.load_classifier`)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from cnnexp.classifier import Classifier, build_classifier
from cnnexp.errors import CheckpointError
from cnnexp.files import atomic_write_bytes

# Key prefix of the classifier's weights inside the LightningModule's state dict (LitClassifier.classifier).
PREFIX = "classifier."


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning saves through a temporary file in the system temp dir; when that is on another file
    system the final move is a copy, which a kill can interrupt. A temporary file beside the target,
    renamed over it, is atomic on any POSIX file system."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(Path(path), buffer.getvalue())


def load_classifier(ckpt_path: str | Path) -> Classifier:
    """The checkpoint's classifier in eval mode, on the CPU.

    It maps float images in [0, 1] at the dataset's own size (N, 1, 28, 28 for MNIST) to logits;
    padding and normalization are inside. Loaded with `weights_only=True`: a checkpoint is data.
    """
    path = Path(ckpt_path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, not a zip, refused pickle: all "not a checkpoint"
        raise CheckpointError(f"checkpoint {path} cannot be read ({type(e).__name__}): truncated or not a "
                              "checkpoint") from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("cnnexp_config"), dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"checkpoint {path} is not a cnnexp checkpoint (no cnnexp_config/state_dict)")
    classifier = build_classifier(ckpt["cnnexp_config"])
    weights = {k[len(PREFIX):]: v for k, v in ckpt["state_dict"].items() if k.startswith(PREFIX)}
    try:
        classifier.load_state_dict(weights)
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint {path} does not fit its model: {str(e).splitlines()[0]}") from None
    return classifier.eval()
