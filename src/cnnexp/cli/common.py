"""What every cnnexp command does around its job: the config checked before Hydra starts, one policy for
bad input (one line, exit status 2, no traceback; a failed sweep job is recorded and the sweep goes on),
the process settings, and the summary table."""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, Override
from hydra.errors import HydraException, OverrideParseException
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from cnnexp.config import compose, group_options, in_sweep, is_group, start_command
from cnnexp.errors import USER_ERRORS, ConfigError, Interrupted
from cnnexp.runtime import keep_freed_memory
from cnnexp.sweeps.points import check_sweep

T = TypeVar("T")
MULTIRUN_FLAGS = ("-m", "--multirun")


def one_line(error: Exception) -> str:
    """Hydra's multi-line composition errors, as one line that keeps what names the problem."""
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    keep = [ln for ln in lines if not ln.startswith(("Config search path", "provider=", "See https", "full_key",
                                                     "object_type"))]
    text = "; ".join(keep)
    return text.replace("Available options in", "available options in").replace(":;", ":").replace(".;", ";")


def fail(command: str, message: str) -> None:
    """The one way a command refuses bad input."""
    print(f"{command}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def check_output_dir(cfg: DictConfig, sweep: bool, finished_is_kept: bool) -> None:
    """The dir Hydra is about to make for this command: one it can create, and for a training not a finished
    run's (a new run would overwrite its metrics.json and mix two runs' checkpoints) unless resumed."""
    out = Path(str(cfg.hydra.sweep.dir if sweep else cfg.hydra.run.dir))
    existing = next(p for p in (out, *out.parents) if p.exists())
    if not existing.is_dir():
        raise ConfigError(f"output dir {out}: cannot be created, {existing} is a file (set paths.log_dir)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"output dir {out}: cannot be created, {existing} is not writable (set paths.log_dir)")
    if finished_is_kept and not sweep and (out / "metrics.json").is_file() and cfg.get("resume") is not True:
        raise ConfigError(f"output dir {out} holds a finished run (metrics.json): resume=true keeps it as it is; "
                          "for a new run choose another dir")


def check_overrides(config_name: str, command: str, argv: list[str],
                    check: Callable[[DictConfig], None] | None = None, finished_is_kept: bool = False) -> None:
    """Compose the config from the command line once, before Hydra runs anything.

    A mistyped key, an unknown option, a syntax error, a config that `check` refuses or an output dir that
    cannot be made (or, `finished_is_kept`, holds a finished run) then exits with status 2 and one line, like
    any other bad input, before Hydra makes a run dir. A sweep (`-m`, or a
    preset that launches one, `sweep=...`) has every point composed and the invalid ones listed in one
    block. Other flags go straight to Hydra.
    """
    start_command()
    args = argv[1:]
    overrides = [a for a in args if a not in MULTIRUN_FLAGS]
    flagged = len(overrides) < len(args)
    if any(a.startswith("-") for a in overrides):
        return
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
        check_no_null_group(parsed)
        plain = [o.input_line for o in parsed if not o.is_sweep_override()]
        cfg = compose(config_name, plain, return_hydra_config=True)
        sweep = flagged or cfg.hydra.mode == RunMode.MULTIRUN
        if sweep:
            check_sweep(config_name, command, overrides, cfg.hydra.sweeper)
        elif len(plain) < len(overrides):
            compose(config_name, overrides)  # a sweep without -m: Hydra's own message
        elif check is not None:
            check(cfg)
        check_output_dir(cfg, sweep, finished_is_kept)
    except OverrideParseException as e:  # its message alone does not say which override
        fail(command, f"{e.override}: {one_line(e)}")
    except (HydraException, OmegaConfBaseException) as e:
        fail(command, with_options(one_line(e)))
    except ConfigError as e:
        fail(command, str(e))


def check_no_null_group(parsed: list[Override]) -> None:
    """`logger=null`: Hydra takes only an option's name for a group and would end in a ValueError's traceback."""
    for o in parsed:
        if is_group(o.key_or_group) and not o.is_delete() and None in _leaves(o.value()):
            raise ConfigError(f"{o.input_line}: a config group takes an option, not null; available options in "
                              f"'{o.key_or_group}': {'; '.join(group_options(o.key_or_group))}")


def _leaves(value: Any) -> list[Any]:
    """An override's values, out of its lists and choice sweeps (`logger=[csv,null],tensorboard`)."""
    items = value.list if isinstance(value, ChoiceSweep) else value if isinstance(value, list) else None
    return [leaf for item in items for leaf in _leaves(item)] if items is not None else [value]


def with_options(message: str) -> str:
    """Hydra lists a group's options when `group=nonesuch`, not when a list names it (`logger=[csv,nonesuch]`)."""
    missing = re.search(r"Could not load '(.+)/[^/']+'", message)
    if missing and "available options" not in message:
        return f"{message.rstrip('.')}; available options in '{missing[1]}': {'; '.join(group_options(missing[1]))}"
    return message


def run_job(command: str, job: Callable[[DictConfig], T], cfg: DictConfig) -> T | None:
    """Run `job(cfg)` with the process settings of a run; bad input exits with status 2 and one line.

    In a sweep job the error is logged instead (the job's log keeps it for cnnexp-report) and None
    is returned, so one bad point does not end the sweep.
    """
    keep_freed_memory()
    try:
        return job(cfg)
    except Interrupted as e:
        print(f"{command}: {e}", file=sys.stderr)
        raise SystemExit(e.exit_status) from None
    except USER_ERRORS as e:
        if not in_sweep():
            fail(command, str(e))
        logging.getLogger(command).error("%s: error: %s", command, e)
        return None


def print_metrics(command: str, run_dir: str, metrics: Mapping[str, Any]) -> None:
    """The metrics as a table, then the run dir on a line of its own, whole (a table's title wraps at the
    terminal's width, and a path cut in two cannot be copied)."""
    # Imported here: a refusal never prints a table, and a run prints one only at its end.
    from rich.console import Console
    from rich.table import Table

    table = Table(title=command)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, f"{value:,.4f}" if isinstance(value, float) else f"{value:,}")
    Console().print(table)
    print(f"{command}: {run_dir}", flush=True)
