"""TensorBoard's HParams tab built for comparing runs: the settings a user chooses, as the same columns in
every run, and the experiment summary written once at a sweep's root. Plain Python (no torch).

TensorBoard takes the columns from one experiment summary if any run holds one, else from every run's
session (their union, `differs` set and differing columns first: plugins/hparams/backend_context.py).
So a run writes only its session, and a sweep's root the one experiment summary: its columns marked
`differs` and its metrics the final ones (computed from the runs, every scalar tag would be a metric).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from hydra.core.hydra_config import HydraConfig

from cnnexp.config import CONF_DIR, class_name
from cnnexp.readers import UnreadableFile, read_metrics, read_settings

HParamValue = bool | int | float | str
T = TypeVar("T")
log = logging.getLogger("cnnexp.hparams")
# A setting this run's model or optimizer does not have: a value, so no run drops out of a filtered view.
NA = "n/a"
# Keys of conf/ that wire a section to another (or to Hydra), not settings a user chooses.
WIRING = {"_target_", "_partial_", "defaults", "in_channels", "num_classes", "input_size"}
# Lightning's TensorBoardLogger writes the run's settings (`settings`) to this file beside its events.
SETTINGS_FILE = "hparams.yaml"
# The final metrics shown first, in this order (TensorBoard ticks the first five); any other follows by name.
FIRST_METRICS = ("val/acc_best", "test/acc", "inv/shift_consistency", "test/loss")
EXPERIMENT_SUFFIX = ".cnnexp-experiment"


@cache
def options(group: str, section: str | None = None) -> dict[str, bool]:
    """Every settings key the configs of `conf/<group>/` (their `section`) define, the columns every run gets,
    and whether every one of those configs has it."""
    nodes = [yaml.safe_load(path.read_text()) or {} for path in Path(CONF_DIR, group).glob("*.yaml")]
    keys = [set((node.get(section) or {}) if section else node) - WIRING for node in nodes]
    return {key: all(key in k for k in keys) for key in sorted(set().union(*keys))}


def _columns(prefix: str, node: Mapping[str, Any], keys: Mapping[str, bool]) -> dict[str, HParamValue]:
    """A column a config may lack holds text in every run (TensorBoard filters a column of one type), "n/a"
    where it is absent; a column every config has keeps its numbers (an lr sweep gets a numeric axis)."""
    return {f"{prefix}/{key}": node[key] if everywhere and isinstance(node[key], HParamValue) else
            _text(node.get(key, NA)) for key, everywhere in keys.items()}


def _text(value: Any) -> str:
    return "null" if value is None else str(value)


def augment_kind(augment: Mapping[str, Any]) -> str:
    """`none`, `shift`, `rotate`, `scale` or a `+` of them, from what the augmentation does."""
    kinds = [name for name, on in (("shift", augment["max_shift"] > 0), ("rotate", augment["max_degrees"] > 0),
                                   ("scale", list(augment["scale_range"]) != [1.0, 1.0])) if on]
    return "+".join(kinds) or "none"


def task_overrides() -> str:
    """This run's command-line overrides, less those Hydra's run-dir names leave out (paths, resume, ...)."""
    if not HydraConfig.initialized():
        return ""
    hydra = HydraConfig.get()
    skip = set(hydra.job.config.override_dirname.exclude_keys)
    return " ".join(o for o in hydra.overrides.task if o.split("=", 1)[0].lstrip("+~") not in skip)


def settings(config: Mapping[str, Any], overrides: str) -> dict[str, HParamValue]:
    """The HParams columns of a run of the resolved train `config`: the same keys for every run."""
    data, model, optim, augment = config["data"], config["model"], config["optim"], config["augment"]
    scheduler = optim.get("scheduler")
    return {
        "overrides": overrides or "none",
        "data": data["name"],
        "data/train_size": _text(data["train_size"] or "all"),
        "data/batch_size": data["batch_size"],
        "seed": config["seed"],
        "model": class_name(model["_target_"]),
        **_columns("model", model, options("model")),
        "optimizer": class_name(optim["optimizer"]["_target_"]),
        **_columns("optim", optim["optimizer"], options("optim", "optimizer")),
        "scheduler": class_name(scheduler["_target_"]) if scheduler else "none",
        "optim/label_smoothing": optim["label_smoothing"],
        "augment": augment_kind(augment),
        "augment/max_shift": augment["max_shift"],
        "augment/max_degrees": augment["max_degrees"],
        "augment/scale_range": _text(augment["scale_range"]),
        "trainer/max_epochs": config["trainer"]["max_epochs"],
    }


def metric_order(names: Iterable[str]) -> list[str]:
    names = set(names)
    return [m for m in FIRST_METRICS if m in names] + sorted(names - set(FIRST_METRICS))


def hparam_infos(runs: Sequence[Mapping[str, HParamValue]]):
    """One column per setting of any run, its domain over the runs, `differs` where the runs that have the
    setting differ: an option only some models have (n/a in the others) is not marked, so what was swept
    stays among the first columns TensorBoard ticks (differing first, then by name; five of them)."""
    from tensorboard.plugins.hparams import api_pb2

    infos = []
    for name in sorted(set().union(*runs)):
        values = [run.get(name, NA) for run in runs]
        info = api_pb2.HParamInfo(name=name, differs=len({json.dumps(v) for v in values if v != NA}) > 1)
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            info.type = api_pb2.DATA_TYPE_FLOAT64
            info.domain_interval.min_value, info.domain_interval.max_value = min(values), max(values)
        elif all(isinstance(v, bool) for v in values):
            info.type = api_pb2.DATA_TYPE_BOOL
            info.domain_discrete.extend(sorted(set(values)))
        else:
            info.type = api_pb2.DATA_TYPE_STRING
            info.domain_discrete.extend(sorted({str(v) for v in values}))
        infos.append(info)
    return infos


def write_experiment(root: Path, runs: Sequence[Mapping[str, HParamValue]], metrics: Iterable[str]) -> None:
    """The experiment summary of the runs below `root`, as the only event file of `root` itself (replacing an
    earlier one): `tensorboard --logdir root` shows these columns and metrics."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    for old in root.glob(f"events.out.tfevents.*{EXPERIMENT_SUFFIX}"):
        old.unlink()
    experiment = api_pb2.Experiment(time_created_secs=time.time(), hparam_infos=hparam_infos(runs),
                                    metric_infos=[api_pb2.MetricInfo(name=api_pb2.MetricName(tag=m))
                                                  for m in metric_order(metrics)])
    # Built as hparams.summary.experiment_pb would, which imports tensorflow.
    content = metadata.create_summary_metadata(plugin_data_pb2.HParamsPluginData(experiment=experiment))
    summary = Summary(value=[Summary.Value(tag=metadata.EXPERIMENT_TAG, metadata=content)])
    writer = EventFileWriter(str(root), filename_suffix=EXPERIMENT_SUFFIX)
    writer.add_event(Event(wall_time=time.time(), summary=summary))
    writer.close()


def write_experiment_of(root: Path, settings_files: Iterable[Path], metrics_files: Iterable[Path]) -> None:
    """`write_experiment` over the runs' settings (Lightning's hparams.yaml) and metrics.json files; an unreadable
    one is left out with a warning (cnnexp-report lists its job as unreadable), the others shown."""
    runs = [s for path in settings_files if (s := _readable(read_settings, path)) is not None]
    metrics = {k for path in metrics_files for k in (_readable(read_metrics, path) or {}) if "/" in k}
    if runs:
        write_experiment(root, runs, metrics)


def _readable(read: Callable[[Path], T], path: Path) -> T | None:
    try:
        return read(path)
    except UnreadableFile as e:
        log.warning("TensorBoard HParams: %s; left out", e)
        return None


def write_sweep_experiment(root: Path, jobs: Iterable[Path]) -> None:
    """The experiment summary over the finished `jobs` below `root` (each with metrics.json and its settings)."""
    done = [(found[0], job / "metrics.json") for job in jobs
            if (job / "metrics.json").is_file() and (found := sorted(job.rglob(SETTINGS_FILE)))]
    write_experiment_of(root, [s for s, _ in done], [m for _, m in done])
