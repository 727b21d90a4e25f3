"""The study: created or continued in its storage, refused if it optimizes another metric or direction."""

from __future__ import annotations

import warnings

import optuna
from hydra.utils import instantiate

from cnnexp.errors import ConfigError
from cnnexp.tune.settings import TuneSettings
from cnnexp.tune.storage import open_storage, reason


def open_study(settings: TuneSettings, worker: bool = False) -> optuna.Study:
    """The study in its storage, created on first use; ConfigError if a study of that name optimizes
    another metric or direction, or the storage cannot be written. A worker's study samples and prunes
    as the config says."""
    storage = open_storage(settings.storage, settings.heartbeat)
    sampler, pruner = (instantiate(settings.sampler), instantiate(settings.pruner)) if worker else (None, None)
    try:
        try:  # an existing study is checked before anything is written (a journal would keep even a refused create)
            study = optuna.load_study(study_name=settings.study_name, storage=storage, sampler=sampler, pruner=pruner)
        except KeyError:
            study = optuna.create_study(storage=storage, study_name=settings.study_name, direction=settings.direction,
                                        load_if_exists=True, sampler=sampler, pruner=pruner)
        direction = study.direction.name.lower()
        with warnings.catch_warnings():  # metric names are "experimental" in optuna 5; the dashboard shows them
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            metric = (study.metric_names or [settings.metric])[0]
            if (direction, metric) != (settings.direction, settings.metric):
                raise ConfigError(f"tune.study_name={settings.study_name}: the study in {settings.storage} is to "
                                  f"{direction} {metric}, this command would {settings.direction} {settings.metric}; "
                                  f"choose another tune.study_name")
            if not worker:
                study.set_metric_names([settings.metric])  # a write: a read-only storage is refused here
    except ConfigError:
        raise
    except Exception as e:  # SQLAlchemy's and the journal's errors alike
        raise ConfigError(f"tune.storage={settings.storage}: cannot be written: {reason(e)}") from None
    return study

