"""HParams with the real final metrics (not Lightning's placeholder `hp_metric = -1`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

HParamValue = bool | int | float | str


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, HParamValue]:
    """`{"model": {"pooling": "max"}}` -> `{"model/pooling": "max"}`; lists and None become text.

    Hydra's own keys (`_target_`, `_partial_`) are left out: they are wiring, not settings.
    """
    out: dict[str, HParamValue] = {}
    for key, value in config.items():
        if str(key).startswith("_"):
            continue
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}/"))
        elif isinstance(value, bool | int | float | str):
            out[name] = value
        else:
            out[name] = str(value)
    return out


def write_hparams(writer, params: Mapping[str, HParamValue], metrics: Mapping[str, float],
                  new_scalars: Iterable[str] = ()) -> None:
    """Write the HParams session for this run.

    The HParams tab reads each metric's value from the scalar with the same tag in this run,
    so metrics not logged during training (`new_scalars`) are written as scalars first.
    """
    from torch.utils.tensorboard.summary import hparams

    for tag in new_scalars:
        writer.add_scalar(tag, metrics[tag], 0)
    exp, ssi, sei = hparams(dict(params), dict(metrics))
    file_writer = writer._get_file_writer()
    for summary in (exp, ssi, sei):
        file_writer.add_summary(summary)
    writer.flush()
