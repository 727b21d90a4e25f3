"""cnnexp-claims: check the lecture's claims; write claims.json, report.md, figures and TensorBoard text.

Flow: config -> the claims asked for and every training they need, composed and validated (no
training yet) -> closed-form claims (seconds) -> trained claims (cached trainings) -> report.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from cnnexp import resolvers
from cnnexp.allocator import keep_freed_memory
from cnnexp.cli import CONF_DIR, check_overrides
from cnnexp.errors import USER_ERRORS, ConfigError

resolvers.register()
log = logging.getLogger("cnnexp.claims")
MIN_SEEDS = 3


def selected(wanted: Any, known: list[str]) -> list[str]:
    """`all`, one id, or a list of ids -> the ids in lecture order; unknown ids are a config error."""
    ids = known if wanted == "all" else [wanted] if isinstance(wanted, str) else list(wanted)
    unknown = [i for i in ids if i not in known]
    if unknown or not ids:
        raise ConfigError(f"claims={wanted}: unknown claim id(s) {', '.join(map(str, unknown)) or '(none given)'}; "
                          f"choose from {', '.join(known)} or all")
    return [i for i in known if i in ids]


def machine() -> str:
    import torch

    where = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    return f"{platform.machine()} {where}, {os.cpu_count()} cores, torch {torch.__version__}"


def run_claims(cfg: DictConfig) -> dict:
    """Check the claims `cfg.claims` asks for; write the report into the run dir; return the result."""
    from cnnexp.claims.registry import Context, all_claims

    start = time.perf_counter()
    claims = all_claims()
    wanted = cfg.claims if isinstance(cfg.claims, str) else OmegaConf.to_object(cfg.claims)
    ids = selected(wanted, list(claims))
    profile = cfg.profile
    out_dir = Path(cfg.paths.output_dir)
    runs = None
    if any(claims[i].trains for i in ids):
        from cnnexp.claims.arms import ALL_ARMS
        from cnnexp.claims.trainings import Runs, as_overrides

        if len(profile.seeds) < MIN_SEEDS:
            raise ConfigError(f"profile.seeds={list(profile.seeds)}: trained claims need at least {MIN_SEEDS} "
                              "seeds for a mean and a 95% interval")
        common = [f"invariance={profile.invariance}", *as_overrides(OmegaConf.to_container(profile.train))]
        runs = Runs(out_dir, list(profile.seeds), common, cfg.paths.data_dir)
        runs.validate(ALL_ARMS)  # every training's config, before the first one starts
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = Context(out_dir=out_dir, seed=cfg.seed, runs=runs, data_dir=Path(cfg.paths.data_dir))
    from cnnexp.claims.report import claim_record, write_report

    records = []
    for i in sorted(ids, key=lambda i: claims[i].trains):  # seconds-long claims first
        log.info("claims: checking %s (%s)", i, claims[i].title)
        outcome = claims[i].check(ctx)
        log.info("claims: %s %s — %s", i, outcome.verdict, outcome.key)
        records.append(claim_record(claims[i], outcome))
    records.sort(key=lambda r: r["id"])
    result = {"profile": profile.name, "seeds": list(profile.seeds), "machine": machine(),
              "wall_s": round(time.perf_counter() - start, 1),
              "curve_images": runs.curve_images() if runs else None,
              "trainings": {"trained": runs.trained if runs else 0, "cached": runs.cached if runs else 0,
                            "fit_s": round(runs.fit_seconds, 1) if runs else 0.0},
              "claims": records}
    write_report(result, out_dir)
    return result


def print_verdicts(result: dict, out_dir: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"cnnexp-claims: {out_dir} ({result['wall_s']:.0f} s)")
    for column in ("id", "verdict", "key number"):
        table.add_column(column)
    for r in result["claims"]:
        table.add_row(r["id"], r["verdict"], r["key"])
    Console().print(table)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="claims")
def _main(cfg: DictConfig) -> None:
    keep_freed_memory()
    try:
        result = run_claims(cfg)
    except USER_ERRORS as e:
        print(f"cnnexp-claims: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    print_verdicts(result, cfg.paths.output_dir)


def main() -> None:
    check_overrides("claims", "cnnexp-claims", sys.argv)
    _main()


if __name__ == "__main__":
    main()
