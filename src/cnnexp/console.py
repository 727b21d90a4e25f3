"""Console hygiene for Lightning under Hydra: each message once, no advertising, no known noise."""

from __future__ import annotations

import logging
import warnings


class _DropTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Tip:" not in record.getMessage()


def quiet_lightning() -> None:
    """Call after `import lightning`.

    Lightning gives its `lightning`, `lightning.pytorch` and `lightning.fabric` loggers a console
    handler each (the last two only when the root logger has none yet, i.e. outside Hydra), so a
    message could come out two or three times. One prints: the root logger's under Hydra (it also
    writes the run's log file), else the `lightning` logger's.
    """
    root_has_handlers = logging.getLogger().hasHandlers()
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logger = logging.getLogger(name)
        if name != "lightning" or root_has_handlers:
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
