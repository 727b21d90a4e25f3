"""cnnexp-tune: an Optuna study over cnnexp-train's config, on validation (the test set only reports).

    cnnexp-tune [hparams_search=NAME] tune.n_trials=N tune.workers=K tune.storage=URL tune.study_name=NAME
                [any cnnexp-train override]

Everything is checked before any training (one line, exit status 2, nothing written): the overrides, the
search space against the train config, the storage and the study. Then K workers share the study (a trial
whose worker died is failed and run again once, and more workers run what the command still owes); at the
end best.json and cnnexp-report's summary are written into the study dir.
"""

from __future__ import annotations

import sys

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, OverrideParseException
from omegaconf.errors import OmegaConfBaseException

from cnnexp.cli.common import check_overrides, fail, one_line
from cnnexp.errors import ConfigError
from cnnexp.sweeps.points import invalid_points
from cnnexp.tune.settings import TuneSettings, load_settings, train_overrides
from cnnexp.tune.space import boundaries

COMMAND = "cnnexp-tune"
STORAGE = "tune.storage="


def check_storage_quoted(overrides: list[str]) -> None:
    """A database URL's query string (`?host=/tmp`, `?sslmode=require`) stops Hydra's parser unless the URL is
    quoted: say how, in one line, instead of the parser's `mismatched input '='`."""
    for item in overrides:
        if item.startswith(STORAGE):
            try:
                OverridesParser.create().parse_overrides([item])
            except OverrideParseException:
                fail(COMMAND, f"{item}: quote the URL for Hydra (the = of its query string ends a value): "
                              f"\"{STORAGE}'{item[len(STORAGE):]}'\"")


def check(overrides: list[str]) -> TuneSettings:
    """The settings, the train config and every choice and range end of the search space, checked."""
    settings = load_settings(overrides)
    base = train_overrides(overrides)
    points = [base, *([*base, o] for _, o in boundaries(settings.space))]
    keys = ["", *(k for k, _ in boundaries(settings.space))]
    for point, reason in invalid_points("train", points):
        key = keys[points.index(point)]
        raise ConfigError(f"tune.search_space.{key}: {point[-1]} fails: {reason}" if key else reason)
    return settings


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv if argv is None else [COMMAND, *argv]
    overrides = argv[1:]
    flags = [a for a in overrides if a.startswith("-")]
    if {"-h", "--help"} & set(flags):
        print(__doc__)
        return
    if flags:  # Hydra's flags (-m, --cfg, ...) have no meaning here: the study is the sweep
        fail(COMMAND, f"{flags[0]}: cnnexp-tune takes overrides only (key=value, group=option)")
    check_storage_quoted(overrides)
    check_overrides("tune", COMMAND, argv)
    try:
        settings = check(overrides)
        import optuna

        from cnnexp.tune.study import open_study

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line on bad input; the workers log the trials
        study = open_study(settings)
    except ConfigError as e:
        fail(COMMAND, str(e))
    except (HydraException, OmegaConfBaseException) as e:
        fail(COMMAND, one_line(e))
    from cnnexp.tune.launch import run_command, threads_per_worker
    from cnnexp.tune.results import finish

    print(f"{COMMAND}: study {settings.study_name!r} in {settings.storage} ({len(study.trials)} trials so far): "
          f"{settings.n_trials} more, {min(settings.workers, settings.n_trials)} worker(s), {settings.direction} "
          f"{settings.metric}", flush=True)
    try:
        failures = run_command(study, settings, overrides, threads_per_worker(settings))
    except KeyboardInterrupt:
        print(f"{COMMAND}: stopped by SIGINT; the study in {settings.storage} keeps its finished trials (a stopped "
              f"one is marked failed): the same command adds trials again", file=sys.stderr)
        raise SystemExit(130) from None
    finish(study, settings, overrides)
    if failures:
        print("\n".join(f"{COMMAND}: error: {f}" for f in failures), file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
