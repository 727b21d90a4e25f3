"""What cnnexp writes to TensorBoard beside Lightning's scalars: the logger (one event file per run), HParams
with the real final metrics, the Custom Scalars layout, and views of the tested model (layer table, filters,
feature maps)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import torch
from lightning.pytorch import loggers
from lightning.pytorch.utilities import rank_zero_only
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams
from torchvision.utils import make_grid

from cnnexp.classifier import Classifier
from cnnexp.hparams import HParamValue
from cnnexp.models.summary import layer_rows, markdown_table, planned_modules


class TensorBoardLogger(loggers.TensorBoardLogger):
    """Lightning's TensorBoard logger (conf/logger/tensorboard.yaml) with one event file per run and no `epoch` chart.

    Lightning adds `epoch` to every epoch-end log (LoggerConnector.log_metrics): a chart of the x-axis itself,
    the first card the Scalars tab shows. Lightning closes the writer when fit ends; cnnexp tests afterwards
    through the same writer, and a closed SummaryWriter opens a second event file, so the run closes it.
    """

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        super().log_metrics({k: v for k, v in metrics.items() if k != "epoch"}, step)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if self._experiment is not None:
            self.experiment.flush()
        if status == "success":
            self.save()  # hparams.yaml, as Lightning's finalize writes it


def write_hparams(writer: SummaryWriter, params: Mapping[str, HParamValue], metrics: Mapping[str, float],
                  new_scalars: Mapping[str, int] | Iterable[str] = (), step: int = 0) -> None:
    """Write the HParams session for this run (`cnnexp.hparams.settings`) and its metrics as a text table;
    no experiment summary: one run's would stand for every run's (see cnnexp.hparams).

    The HParams tab reads each metric's value from the scalar with the same tag in this run, so the
    metrics no one logged during training (`new_scalars`) are written as scalars first, at `step` (or at the
    step `new_scalars` maps each to).
    Not Lightning's `TensorBoardLogger.log_hyperparams(params, metrics)`: it would log every metric
    again at step 0, a second point beside the per-epoch series of the same tag, and an experiment summary.
    """
    steps = new_scalars if isinstance(new_scalars, Mapping) else dict.fromkeys(new_scalars, step)
    for tag, at in steps.items():
        writer.add_scalar(tag, metrics[tag], at)
    # The final metrics read as one table (Text tab). They stay scalars too: HParams reads its metric values
    # from scalars only (plugins/hparams/backend_context.py, read_last_scalars).
    writer.add_text("metrics/final", "| metric | value |\n|---|---|\n"
                    + "\n".join(f"| {k} | {v:.6g} |" for k, v in sorted(metrics.items())), step)
    _, session_start, session_end = hparams(dict(params), dict(metrics))
    file_writer = writer._get_file_writer()
    for summary in (session_start, session_end):
        file_writer.add_summary(summary)
    writer.flush()


def custom_scalars_layout() -> dict:
    """The layout `SummaryWriter.add_custom_scalars` takes: {category: {chart: ["Multiline", [tag regexes]]}}.

    The regexes are anchored: `train/loss` alone would also draw `train/loss_step`.
    """
    return {"train vs val": {"loss": ["Multiline", ["^train/loss$", "^val/loss$"]],
                             "accuracy": ["Multiline", ["^train/acc$", "^val/acc$"]]}}


def _unit_range(x: torch.Tensor) -> torch.Tensor:
    """Scale each map to [0, 1] on its own so weak and strong maps are both visible."""
    flat = x.flatten(1)
    lo, hi = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    return ((flat - lo) / (hi - lo).clamp_min(1e-8)).view_as(x)


@torch.no_grad()
def log_model(writer: SummaryWriter, classifier: Classifier, images: torch.Tensor, step: int,
              num_images: int = 4) -> None:
    """The layer table with parameters per layer, the first conv layer's filters, and the feature maps
    of the first two conv layers on `num_images` test images (uint8 pixels)."""
    net = classifier.net
    pixels = images[:num_images].float().div(255)
    rows = layer_rows(net, tuple(classifier.preprocess(pixels[:1]).shape[1:]))
    writer.add_text("model/layers", markdown_table(rows), step)
    for r in rows:
        writer.add_scalar(f"params/layer/{r.name}", r.params, step)
    # The lecture's C layers: without pooling S2 and S4 (and a CNN's pool<i>) are stride-2 convs, not features.
    convs = [(name, module) for name, (module, shape) in planned_modules(net).items()
             if shape.kind == "conv" and not re.fullmatch(r"s\d+|pool\d+", name)]
    if not convs:
        return
    first_name, first = convs[0]
    weight = first.weight.detach().cpu()
    if weight.shape[1] not in (1, 3):  # show one channel of multi-channel kernels
        weight = weight[:, :1]
    writer.add_image(f"filters/{first_name}", make_grid(_unit_range(weight), nrow=weight.shape[0], padding=1,
                                                         pad_value=1.0), step)
    maps: dict[str, torch.Tensor] = {}
    hooks = [m.register_forward_hook(lambda _m, _i, out, n=n: maps.__setitem__(n, out)) for n, m in convs[:2]]
    try:
        classifier(pixels)
    finally:
        for h in hooks:
            h.remove()
    for name, out in maps.items():
        out = out.flatten(1, 2) if out.dim() == 5 else out  # p4 maps: each rotation plane a tile of its own
        tiles = _unit_range(out.flatten(0, 1).unsqueeze(1).cpu())
        writer.add_image(f"feature_maps/{name}", make_grid(tiles, nrow=out.shape[1], padding=1, pad_value=1.0), step)
    writer.flush()
