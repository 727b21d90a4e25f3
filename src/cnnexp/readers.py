"""One reader per file kind that cnnexp writes and a command reads back: metrics.json, .hydra/overrides.yaml,
Lightning's hparams.yaml, invariance.json, claims.json (or verdicts.json) and a tune trial's trial.json. Each
returns what was written or raises UnreadableFile, one line naming the file; the caller skips it (a report, a
summary) or refuses (a result it must return). Checkpoints: training/checkpoint.read_checkpoint (it needs torch);
studies: tune/storage.open_storage (Optuna's). Plain Python (no torch).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from cnnexp.errors import ConfigError
from cnnexp.invariance import SCHEMA


class UnreadableFile(ConfigError):
    """A file missing, unreadable or not what cnnexp writes there. `str` names its path; `brief` its name alone,
    for a report row that names the job beside it."""

    def __init__(self, path: Path, why: str):
        super().__init__(f"{path} {why}")
        self.brief = f"{path.name} {why}"


# libyaml's parser where PyYAML was built with it (its wheels are): about 9x faster on these small files, and it
# refuses a hostile nesting in a millisecond where the pure-Python parser recursed for 1.5 s.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_YAML_LOADER)


def _read(path: Path, load: Callable[[str], Any], fits: Callable[[Any], bool], what: str) -> Any:
    path = Path(path)
    try:
        text = path.read_text()
        content = load(text) if text.strip() else None
    except FileNotFoundError:
        raise UnreadableFile(path, "is missing") from None
    # ValueError: bad JSON or UTF-8; RecursionError: a hostile file nested deeper than the parser recurses
    except (OSError, ValueError, RecursionError, yaml.YAMLError) as e:
        raise UnreadableFile(path, f"is unreadable ({type(e).__name__})") from None
    if content is None:
        raise UnreadableFile(path, "is empty")
    if load is _load_yaml and not text.endswith("\n"):  # YAML has no closing bracket: a cut list still parses
        raise UnreadableFile(path, "is truncated (no final newline)")
    if not fits(content):
        raise UnreadableFile(path, f"is not {what}")
    return content


def _mapping_of(values: type | tuple[type, ...]) -> Callable[[Any], bool]:
    return lambda c: isinstance(c, dict) and all(isinstance(k, str) and isinstance(v, values) for k, v in c.items())


def read_metrics(path: Path) -> dict[str, float]:
    """A run's metrics.json: metric name -> number."""
    return _read(path, json.loads, _mapping_of((int, float)), "a dict of metrics")


def read_overrides(path: Path) -> list[str]:
    """A run's .hydra/overrides.yaml: its command-line overrides (`[]` when there were none)."""
    return _read(path, _load_yaml, lambda c: isinstance(c, list) and all(isinstance(o, str) for o in c),
                 "a list of overrides")


def read_settings(path: Path) -> dict[str, bool | int | float | str]:
    """A run's HParams columns, as Lightning's TensorBoardLogger wrote them (hparams.yaml)."""
    return _read(path, _load_yaml, _mapping_of((bool, int, float, str)), "a dict of settings")


def read_invariance(path: Path) -> dict[str, Any]:
    """A run's invariance.json, of the layout this version reads (an older one lacks or renames measures)."""
    content = _read(path, json.loads, lambda c: isinstance(c, dict) and isinstance(c.get("protocol"), dict),
                    "the invariance suite's results")
    if content["protocol"].get("schema") != SCHEMA:
        raise UnreadableFile(path, f"is from another version (schema {content['protocol'].get('schema')}, this one "
                                   f"reads {SCHEMA})")
    return content


def read_claims(path: Path) -> dict[str, Any]:
    """A cnnexp-claims run's claims.json or verdicts.json: its profile and a verdict per claim id."""
    return _read(path, json.loads, lambda c: isinstance(c, dict) and isinstance(c.get("profile"), str)
                 and isinstance(c.get("claims"), list)
                 and all(isinstance(r, dict) and isinstance(r.get("id"), str) and "verdict" in r for r in c["claims"]),
                 "a claims report (claims.json or verdicts.json)")


def read_trial(path: Path) -> dict[str, Any]:
    """A cnnexp-tune trial's record (trial.json): its study, number and state."""
    return _read(path, json.loads, lambda c: isinstance(c, dict) and isinstance(c.get("number"), int)
                 and isinstance(c.get("state"), str), "a trial record")
