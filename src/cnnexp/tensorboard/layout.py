"""TensorBoard's Custom Scalars tab: train and validation curves side by side, one chart per invariance curve."""

from __future__ import annotations

from collections.abc import Iterable


def custom_scalars_layout(invariance_curves: Iterable[str] = ()) -> dict:
    """The layout `SummaryWriter.add_custom_scalars` takes: {category: {chart: ["Multiline", [tag regexes]]}}.

    Invariance curves get a chart each: their steps are shifts, degrees or scale x100, not comparable axes.
    """
    layout = {"train vs val": {"loss": ["Multiline", ["train/loss", "val/loss"]],
                               "accuracy": ["Multiline", ["train/acc", "val/acc"]]}}
    curves = {f"{family}: accuracy": ["Multiline", [f"invariance/{family}/acc"]] for family in invariance_curves}
    if curves:
        layout["invariance"] = curves
    return layout
