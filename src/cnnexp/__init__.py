"""cnnexp: run and check the claims of a lecture on convolutional neural networks."""

from __future__ import annotations

__version__ = "0.1.0"


def load_classifier(ckpt_path):
    """A trained cnnexp checkpoint as an `nn.Module` in eval mode: images in [0, 1] at the dataset's
    size -> logits (`cnnexp.training.checkpoint.load_classifier`, imported on first use so that
    `import cnnexp` stays light for config validation)."""
    from cnnexp.training.checkpoint import load_classifier as load

    return load(ckpt_path)
