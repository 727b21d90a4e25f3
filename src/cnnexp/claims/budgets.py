"""The same claims at two training budgets: a run's verdicts beside those of another profile (e.g. quick beside
long), each trained claim whose verdict differs marked budget-sensitive. A run keeps its verdicts in
verdicts.json (claims.json without the evidence), small enough to keep in the repository (docs/claims/)."""

from __future__ import annotations

import logging
from pathlib import Path

from cnnexp.readers import UnreadableFile, read_claims

log = logging.getLogger("cnnexp.claims")


def verdicts(result: dict) -> dict:
    """claims.json without the evidence, figures and texts: what another budget's report compares with."""
    keep = ("id", "title", "verdict", "key", "parts", "trained", "replaces")
    return {k: v for k, v in result.items() if k != "claims"} | {
        "claims": [{k: r.get(k) for k in keep} for r in result["claims"]]}


def read_other(path: str | Path | None) -> dict | None:
    """Another run's verdicts.json or claims.json; None (with one log line) if absent or unreadable: the comparison
    is an extra, this run's verdicts stand without it."""
    if not path:
        return None
    if not Path(path).is_file():
        log.info("claims: no run at another budget to compare with (%s)", path)
        return None
    try:
        return read_claims(Path(path))
    except UnreadableFile as e:
        log.warning("claims: %s; no budget comparison", e)
    return None


def compare(result: dict, other: dict, source: str) -> None:
    """Set result["budgets"] and, on each trained claim the other run also judged, record["budget"]."""
    theirs = {c["id"]: c for c in other["claims"]}
    rows = []
    for record in result["claims"]:
        mine = theirs.get(record["id"])
        if not record["trained"] or mine is None:
            continue
        record["budget"] = {"profile": other["profile"], "verdict": mine["verdict"], "key": mine["key"],
                            "sensitive": mine["verdict"] != record["verdict"]}
        rows.append(record["id"])
    result["budgets"] = {"profile": other["profile"], "source": source, "wall_s": other.get("wall_s"),
                         "seeds": other.get("seeds"), "machine": other.get("machine"), "date": other.get("date"),
                         "claims": rows,
                         "sensitive": [r["id"] for r in result["claims"] if r.get("budget", {}).get("sensitive")]}
