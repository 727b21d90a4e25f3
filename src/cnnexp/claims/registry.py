"""The claims, in lecture order: what each checks, its verdict rule, and the functions that measure and judge it.

A registered rule is never edited once its results were seen: a corrected rule is a new claim (`C19v2`) that
names the claim it replaces and why; the report shows the earlier verdict beside the new one.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnexp.claims.verdict import Part


@dataclass
class Outcome:
    """What one claim's check measured."""

    verdict: str
    key: str  # the one number a reader of the verdict table needs, in words
    evidence: dict[str, Any]
    figures: list[str] = field(default_factory=list)
    # Where the lecture is imprecise or wrong, what the computation shows instead.
    notes: list[str] = field(default_factory=list)
    parts: dict[str, Part | str] = field(default_factory=dict)  # what the rule judged (cnnexp.claims.verdict)
    checks: dict[str, bool] = field(default_factory=dict)  # of the implementation: reported, never judged


@dataclass(frozen=True)
class Context:
    """What a check may use: where to write figures, the trained runs (trained claims only)."""

    out_dir: Path
    seed: int
    runs: Any = None  # cnnexp.claims.trainings.Runs, for claims that train (declare `arms`)
    data_dir: Path | None = None
    data: str = "mnist"  # the dataset (data.name) the trainings and the measured claims use
    # Measurements several claims read, made once per run (e.g. a layer profile: C20 and C24 read LeNet-5's).
    measured: dict = field(default_factory=dict)

    def once(self, key: Hashable, measure: Callable[[], Any]) -> Any:
        """measure()'s result for `key`, measured by the first claim that asks."""
        if key not in self.measured:
            self.measured[key] = measure()
        return self.measured[key]


@dataclass(frozen=True)
class Claim:
    id: str
    title: str
    lecture: str  # section and the sentence it checks
    method: str
    rule: str  # the verdict rule, as the code below applies it
    check: Callable[[Context], Outcome]
    # The trained arms the check reads (name, train overrides), over the profile's seeds: validated
    # and trained (in parallel workers) before the first check runs.
    arms: tuple[tuple[str, tuple[str, ...]], ...] = ()
    reads_data: bool = False  # measures the dataset's images (trained claims do too)
    section: str = ""  # claims beyond the lecture's own are grouped under a section title
    # The rule as a function of the measured numbers (the parts it judges): tests give it numbers that
    # contradict the claim and numbers that support it. Superseded claims keep theirs inside `check`.
    judge: Callable[[dict], dict[str, Part]] | None = None
    replaces: str = ""  # the earlier version's id
    reason: str = ""  # why the earlier rule was wrong, stated without its results

    @property
    def trains(self) -> bool:
        return bool(self.arms)


CLAIMS: dict[str, Claim] = {}


def claim(id: str, title: str, lecture: str, method: str, rule: str, arms: Sequence[tuple[str, Sequence[str]]] = (),
          reads_data: bool = False, section: str = "", judge: Callable[[dict], dict[str, Part]] | None = None,
          replaces: str = "", reason: str = ""):
    """Register the decorated `check(ctx) -> Outcome` as claim `id`."""

    def register(check: Callable[[Context], Outcome]) -> Callable[[Context], Outcome]:
        if id in CLAIMS:
            raise ValueError(f"claim {id} is registered twice")
        CLAIMS[id] = Claim(id, title, " ".join(lecture.split()), " ".join(method.split()),
                           " ".join(rule.split()), check, tuple((a, tuple(o)) for a, o in arms), reads_data,
                           section, judge, replaces, " ".join(reason.split()))
        return check

    return register


def superseded(claims: dict[str, Claim]) -> dict[str, str]:
    """{earlier id: the id of the claim that replaces it}."""
    return {c.replaces: i for i, c in claims.items() if c.replaces}


def current(claims: dict[str, Claim]) -> dict[str, Claim]:
    """The claims no later version replaces: the ones whose verdicts count."""
    old = superseded(claims)
    return {i: c for i, c in claims.items() if i not in old}
