"""TensorBoard views of the model: layer table, parameter counts, first-layer filters, feature maps."""

from __future__ import annotations

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from torch import nn
from torchvision.utils import make_grid

from cnnexp.models.summary import count_parameters, layer_rows, markdown_table


def _writer(trainer: L.Trainer):
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None


def conv_layers(net: nn.Module) -> list[tuple[str, nn.Module]]:
    """The network's planned conv layers (C1, C3, ... / conv1, conv2, ...), in order."""
    planned = [s.name for s in getattr(net, "plan", []) if s.kind == "conv"]
    by_short_name = {name.rsplit(".", 1)[-1]: (name, m) for name, m in net.named_modules() if name}
    return [by_short_name[n] for n in planned if n in by_short_name]


def _unit_range(x: torch.Tensor) -> torch.Tensor:
    """Scale each map to [0, 1] on its own so weak and strong maps are both visible."""
    flat = x.flatten(1)
    lo, hi = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    return ((flat - lo) / (hi - lo).clamp_min(1e-8)).view_as(x)


class ModelFigures(L.Callback):
    def __init__(self, num_digits: int = 4):
        self.num_digits = num_digits

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        writer = _writer(trainer)
        if writer is None or trainer.global_rank != 0:
            return
        images, _ = trainer.datamodule.splits["test"]
        net_input = pl_module.model.preprocess(images[:1].float().to(pl_module.device))
        rows = layer_rows(pl_module.model.net, tuple(net_input.shape[1:]))
        writer.add_text("model/layers", markdown_table(rows), 0)
        writer.add_scalar("params/total", count_parameters(pl_module), 0)
        writer.add_scalar("params/trainable", count_parameters(pl_module, trainable_only=True), 0)
        for r in rows:
            writer.add_scalar(f"params/layer/{r.name}", r.params, 0)

    @torch.no_grad()
    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        writer = _writer(trainer)
        convs = conv_layers(pl_module.model.net)
        if writer is None or not convs or trainer.global_rank != 0:
            return
        step = trainer.global_step
        first_name, first = convs[0]
        weight = first.weight.detach().cpu()
        if weight.shape[1] not in (1, 3):  # show one channel of multi-channel kernels
            weight = weight[:, :1]
        writer.add_image(f"filters/{first_name}", make_grid(_unit_range(weight), nrow=weight.shape[0], padding=1,
                                                             pad_value=1.0), step)
        images, _ = trainer.datamodule.splits["test"]
        digits = images[: self.num_digits].float().div(255).to(pl_module.device)
        maps: dict[str, torch.Tensor] = {}
        hooks = [m.register_forward_hook(lambda _m, _i, out, n=n: maps.__setitem__(n, out))
                 for n, m in convs[:2]]
        try:
            pl_module(digits)
        finally:
            for h in hooks:
                h.remove()
        for name, out in maps.items():
            tiles = _unit_range(out.flatten(0, 1).unsqueeze(1).cpu())
            writer.add_image(f"feature_maps/{name}", make_grid(tiles, nrow=out.shape[1], padding=1, pad_value=1.0), step)
        writer.flush()
