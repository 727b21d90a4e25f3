"""Console hygiene for Lightning under Hydra: each message once, no advertising, no known noise."""

from __future__ import annotations

import logging
import warnings


class _DropTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Tip:" not in record.getMessage()


def quiet_lightning() -> None:
    """Call after `import lightning`.

    Lightning attaches its own console handler to the `lightning` logger; under Hydra the root
    logger already prints (and writes the run's log file), so every line came out twice.
    """
    root_has_handlers = logging.getLogger().hasHandlers()
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logger = logging.getLogger(name)
        if root_has_handlers:
            for handler in list(logger.handlers):
                if type(handler) is logging.StreamHandler:
                    logger.removeHandler(handler)
        logger.propagate = True
    for handler in logging.getLogger().handlers + logging.getLogger("lightning").handlers:
        handler.addFilter(_DropTips())
    # Lightning 2.6 vs torch 2.14: an internal deprecation that users cannot act on.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    # Augmentation lives in the LightningModule's hook on purpose (it is part of the training step).
    warnings.filterwarnings("ignore", message=r".*overridden `on_after_batch_transfer`.*")
