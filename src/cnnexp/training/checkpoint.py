"""cnnexp checkpoints: written atomically with a digest of their content, verified whenever they are
read (resume, cnnexp-eval, `cnnexp.load_classifier`), loaded as a ready classifier."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from cnnexp.classifier import Classifier, build_classifier
from cnnexp.errors import CheckpointError
from cnnexp.files import atomic_write_bytes

# Key prefix of the classifier's weights inside the LightningModule's state dict (LitClassifier.classifier).
PREFIX = "classifier."
# The key of the content digest: a zip's own CRCs are not checked on load, so a flipped bit in a weight
# would otherwise load silently (measured with random bit flips: benchmarks/README.md, "Checkpoint digest").
DIGEST = "cnnexp_sha256"


def content_digest(checkpoint: Any) -> str:
    """sha256 of every value in the checkpoint, walked in order: a tensor's dtype, shape and bytes, any
    other value's repr (what pickling keeps as it was)."""
    h = hashlib.sha256()

    def walk(x: Any) -> None:
        if isinstance(x, torch.Tensor):
            t = x.detach().cpu().contiguous()
            h.update(f"<{t.dtype} {tuple(t.shape)}>".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(x, Mapping):
            for k, v in x.items():
                h.update(f"{k!r}:".encode())
                walk(v)
        elif isinstance(x, list | tuple):
            h.update(b"[")
            for v in x:
                walk(v)
            h.update(b"]")
        else:
            h.update(repr(x).encode())

    walk(checkpoint)
    return h.hexdigest()


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """A cnnexp checkpoint's content, on the CPU, verified: a one-line CheckpointError naming the file
    when it is missing, unreadable, refused (`weights_only`: unpickling runs no code), not cnnexp's, or
    changed since it was written. Checkpoints from before the digest load unverified."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, not a zip, refused pickle: all "not a checkpoint"
        raise CheckpointError(f"checkpoint {path} cannot be read ({type(e).__name__}): truncated or not a "
                              "checkpoint") from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("cnnexp_config"), dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"checkpoint {path} is not a cnnexp checkpoint (no cnnexp_config/state_dict)")
    stored = ckpt.pop(DIGEST, None)
    if stored is not None and stored != content_digest(ckpt):
        raise CheckpointError(f"checkpoint {path} is corrupted: its content no longer matches the digest written "
                              "with it (a changed byte, from the disk or a copy)")
    return ckpt


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning saves through a temporary file in the system temp dir; when that is on another file
    system the final move is a copy, which a kill can interrupt. A temporary file beside the target,
    renamed over it, is atomic on any POSIX file system."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        buffer = io.BytesIO()
        torch.save({**checkpoint, DIGEST: content_digest(checkpoint)}, buffer)
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, buffer.getvalue())
        except OSError as e:  # a full disk, a quota, a file-size limit: the run cannot keep its progress
            raise CheckpointError(f"checkpoint {path} could not be written ({e.strerror or e}); the checkpoints "
                                  f"written before it are intact: free space and continue with resume=true") from None

    def load_checkpoint(self, path, map_location: Any = None, weights_only: bool | None = None) -> dict[str, Any]:
        """Lightning's resume reads through here: verified like every other read."""
        return read_checkpoint(path)


def load_trained(ckpt_path: str | Path) -> tuple[Classifier, dict[str, Any]]:
    """The checkpoint's classifier in eval mode on the CPU, and the config of the run that trained it."""
    ckpt = read_checkpoint(ckpt_path)
    classifier = build_classifier(ckpt["cnnexp_config"])
    weights = {k[len(PREFIX):]: v for k, v in ckpt["state_dict"].items() if k.startswith(PREFIX)}
    try:
        classifier.load_state_dict(weights)
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint {ckpt_path} does not fit its model: {str(e).splitlines()[0]}") from None
    return classifier.eval(), ckpt["cnnexp_config"]


def load_classifier(ckpt_path: str | Path) -> Classifier:
    """The checkpoint's classifier in eval mode, on the CPU.

    It maps float images in [0, 1] at the dataset's own size (N, 1, 28, 28 for MNIST) to logits;
    padding and normalization are inside. Loaded with `weights_only=True` (a checkpoint is data) and
    verified against the digest written with it.
    """
    return load_trained(ckpt_path)[0]
