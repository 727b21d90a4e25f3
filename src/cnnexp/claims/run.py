"""run_claims(cfg): check the lecture's claims; write claims.json, report.md, figures and TensorBoard text.

Flow: config -> the claims asked for and the arms they declare, composed and validated (no training
yet) -> the missing trainings, in parallel workers -> closed-form claims (seconds) -> trained claims
(reading the cached trainings) -> report.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from cnnexp.claims.budgets import compare, read_other
from cnnexp.claims.families import all_claims
from cnnexp.claims.registry import Claim, Context
from cnnexp.claims.report import claim_record, write_report
from cnnexp.claims.trainings import Runs, as_overrides
from cnnexp.data.datasets import SOURCES
from cnnexp.errors import ConfigError

log = logging.getLogger("cnnexp.claims")
MIN_SEEDS = 3


def selected(wanted: Any, claims: dict[str, Claim]) -> list[str]:
    """`all`, one id, or a list of ids -> the ids in lecture order, with the earlier versions of those that
    replace one (the report shows both verdicts); unknown ids are a config error."""
    known = list(claims)
    ids = known if wanted == "all" else [wanted] if isinstance(wanted, str) else list(wanted)
    unknown = [i for i in ids if i not in known]
    if unknown or not ids:
        raise ConfigError(f"claims={wanted}: unknown claim id(s) {', '.join(map(str, unknown)) or '(none given)'}; "
                          f"choose from {', '.join(known)} or all")
    ids = {*ids, *(claims[i].replaces for i in ids if claims[i].replaces)}
    return [i for i in known if i in ids]


def machine() -> str:
    where = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    return f"{platform.machine()} {where}, {os.cpu_count()} cores, torch {torch.__version__}"


def run_claims(cfg: DictConfig) -> dict:
    """Check the claims `cfg.claims` asks for; write the report into the run dir; return the result."""
    start = time.perf_counter()
    claims = all_claims()
    wanted = cfg.claims if isinstance(cfg.claims, str) else OmegaConf.to_object(cfg.claims)
    ids = selected(wanted, claims)
    profile = cfg.profile
    out_dir = Path(cfg.paths.output_dir)
    runs = None
    arms = list({arm: overrides for i in ids for arm, overrides in claims[i].arms}.items())  # each arm once
    if arms:
        if len(profile.seeds) < MIN_SEEDS:
            raise ConfigError(f"profile.seeds={list(profile.seeds)}: trained claims need at least {MIN_SEEDS} "
                              "seeds for a mean and a 95% interval")
        common = [f"data={cfg.data.name}", f"invariance={profile.invariance}",
                  *as_overrides(OmegaConf.to_container(profile.train))]
        runs = Runs(out_dir, list(profile.seeds), common, cfg.paths.data_dir, profile.workers)
        runs.validate(arms)  # every training's config, before the first one starts
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = Context(out_dir=out_dir, seed=cfg.seed, runs=runs, data_dir=Path(cfg.paths.data_dir), data=cfg.data.name)
    dataset = SOURCES[cfg.data.name].title
    records = []
    if runs:
        runs.train_missing(arms)
    for i in sorted(ids, key=lambda i: claims[i].trains):  # seconds-long claims first
        log.info("claims: checking %s (%s)", i, claims[i].title)
        outcome = claims[i].check(ctx)
        log.info("claims: %s %s — %s", i, outcome.verdict, outcome.key)
        records.append(claim_record(claims[i], outcome, dataset))
    records.sort(key=lambda r: r["id"])
    result = {"dataset": dataset, "profile": profile.name, "seeds": list(profile.seeds), "machine": machine(),
              "date": datetime.now().isoformat(timespec="minutes"), "wall_s": round(time.perf_counter() - start, 1),
              "curve_images": runs.curve_images() if runs else None,
              "trainings": {"trained": runs.trained if runs else 0, "cached": runs.cached if runs else 0,
                            "fit_s": round(runs.fit_seconds, 1) if runs else 0.0,
                            "workers": runs.workers if runs else 1},
              "claims": records}
    other = read_other(profile.get("compare_with"))
    if other:
        compare(result, other, str(profile.compare_with))
    write_report(result, out_dir)
    return result
