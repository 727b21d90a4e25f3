"""A search space written in config (conf/hparams_search/): each train config key, or config group, with
the arguments of optuna's `trial.suggest_<type>`; a trial's choice becomes Hydra overrides."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna

from cnnexp.config import CONF_DIR, is_group
from cnnexp.errors import ConfigError

# optuna's distribution for each `type`: built once here so that bad arguments are refused before any trial.
DISTRIBUTIONS = {"float": optuna.distributions.FloatDistribution, "int": optuna.distributions.IntDistribution,
                 "categorical": optuna.distributions.CategoricalDistribution}
# Sections a trial must not change: where it writes, and the search's own settings.
NOT_SEARCHABLE = ("tune", "hydra", "paths")
_PLAIN = re.compile(r"[\w.+-]+")

SearchSpace = dict[str, tuple[str, dict[str, Any]]]  # key -> (type, suggest_<type> arguments)


def parse_space(space: Mapping[str, Any], config: Mapping[str, Any]) -> SearchSpace:
    """The search space, every key and argument checked against the composed `config`."""
    if not isinstance(space, Mapping) or not space:
        raise ConfigError(f"tune.search_space={space!r}: must be a non-empty mapping of train config keys to their "
                          f"ranges; choose one with hparams_search=NAME (conf/hparams_search/)")
    parsed = {}
    for key, spec in space.items():
        where = f"tune.search_space.{key}"
        kind = spec.get("type") if isinstance(spec, Mapping) else None
        if kind not in DISTRIBUTIONS:
            raise ConfigError(f"{where}={spec!r}: must be a mapping with type: {' | '.join(DISTRIBUTIONS)} and "
                              f"optuna's suggest_<type> arguments")
        args = {k: v for k, v in spec.items() if k != "type"}
        try:
            DISTRIBUTIONS[kind](**args)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{where}: {e}") from None
        _check_key(key, kind, args, config)
        parsed[key] = (kind, args)
    return parsed


def _check_key(key: str, kind: str, args: dict, config: Mapping[str, Any]) -> None:
    where = f"tune.search_space.{key}"
    if key.split(".")[0].split("/")[0] in NOT_SEARCHABLE:
        raise ConfigError(f"{where}: {key.split('.')[0]} is not a training setting; search a key of the train config")
    if is_group(key):
        if kind != "categorical":
            raise ConfigError(f"{where}: a config group takes type: categorical with choices of conf/{key}/")
        options = sorted(p.stem for p in (Path(CONF_DIR) / key).glob("*.yaml"))
        unknown = [c for c in args["choices"] if c not in options]
        if unknown:
            raise ConfigError(f"{where}: no option {unknown[0]!r} in conf/{key}/; one of {', '.join(options)}")
        return
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise ConfigError(f"{where}: unknown key {key!r}: not in the train config (a typo, or a group "
                              f"that is not chosen?)")
        node = node[part]


def override(key: str, value: Any) -> str:
    """`key=value` as Hydra parses it back to the same value."""
    if value is None or isinstance(value, bool):
        text = {None: "null", True: "true", False: "false"}[value]
    elif isinstance(value, str) and not _PLAIN.fullmatch(value):
        text = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    else:
        text = str(value)
    return f"{key}={text}"


def boundaries(space: SearchSpace) -> list[tuple[str, str]]:
    """(key, override) for every choice and both ends of every range: the points checked before a study."""
    points = []
    for key, (kind, args) in space.items():
        values = args["choices"] if kind == "categorical" else (args["low"], args["high"])
        points += [(key, override(key, v)) for v in values]
    return points


def suggest(trial: optuna.Trial, space: SearchSpace) -> list[str]:
    """The trial's point, as Hydra overrides of the train config."""
    return [override(key, getattr(trial, f"suggest_{kind}")(key, **args)) for key, (kind, args) in space.items()]
