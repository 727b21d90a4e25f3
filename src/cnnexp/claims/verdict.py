"""The claims' one verdict vocabulary, the parts a verdict is made of, and the rules that judge them.

A claim's rule judges named parts of its sentence; each part HOLDS, is REFUTED or is INCONCLUSIVE.
A part marked `slip` is a detail of the lecture's wording (a number, a formula's form) rather than its
point: a refuted slip corrects the claim instead of refuting it. A check that holds by construction
is an implementation check (Outcome.checks): reported, never a part.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from cnnexp.stats import difference_interval, seeds_for_difference, seeds_for_mean, t_interval

HOLDS, CORRECTED, REFUTED, INCONCLUSIVE = "HOLDS", "HOLDS WITH A CORRECTION", "REFUTED", "INCONCLUSIVE"
VOCABULARY = {
    HOLDS: "every part the rule judges holds (a trained part: its 95% interval clears the stated margin)",
    CORRECTED: "the claim's point holds, and a detail of its wording (a slip) is wrong: the report gives the "
               "correction",
    REFUTED: "a part of the claim's point is contradicted (exactly, or with 95% confidence)",
    INCONCLUSIVE: "no part is refuted, and a trained part's interval straddles its margin: the report says how "
                  "many seeds would decide it",
}
# Rules registered before this vocabulary say PASS and FAIL; their wording is kept, their verdicts read so.
REGISTERED_AS = {"PASS": HOLDS, "FAIL": REFUTED}


@dataclass(frozen=True)
class Part:
    """One judged part of a claim: its verdict, what was measured, and for an INCONCLUSIVE trained part the
    seeds (per arm) its interval would need to clear the margin, from the measured spread (None: no number of
    seeds, the mean sits on the margin or the spread is zero)."""

    verdict: str
    measured: str = ""
    slip: bool = False
    seeds_needed: int | None = None

    def record(self) -> dict:
        return asdict(self)


def exact(holds: bool, measured: str = "", slip: bool = False) -> Part:
    """A part decided exactly (closed form, or an exact count): it holds or it is refuted."""
    return Part(HOLDS if holds else REFUTED, measured, slip)


def greater(a: Sequence[float], b: Sequence[float], margin: float = 0.0, unit: str = " pts") -> Part:
    """HOLDS if mean(a) - mean(b) > margin with 95% confidence (Welch), REFUTED if it is < margin with 95%
    confidence, INCONCLUSIVE when the interval straddles the margin."""
    diff, low, high = difference_interval(a, b)
    measured = f"{diff:+.2f} [{low:+.2f}, {high:+.2f}]{unit} (margin {margin:+g})"
    if low > margin:
        return Part(HOLDS, measured)
    if high < margin:
        return Part(REFUTED, measured)
    return Part(INCONCLUSIVE, measured, seeds_needed=seeds_for_difference(a, b, margin))


def beyond(values: Sequence[float], above: float, below: float, unit: str = " pts") -> Part:
    """HOLDS if mean(values) > `above` with 95% confidence, REFUTED if it is < `below` with 95% confidence,
    INCONCLUSIVE otherwise (seeds needed: to clear `above` from above it, `below` from below it, none between)."""
    mean, half = t_interval(values)
    measured = f"{mean:.2f} ± {half:.2f}{unit} (holds above {above:g}, refuted below {below:g})"
    if mean - half > above:
        return Part(HOLDS, measured)
    if mean + half < below:
        return Part(REFUTED, measured)
    margin = above if mean > above else below if mean < below else None
    return Part(INCONCLUSIVE, measured, seeds_needed=None if margin is None else seeds_for_mean(values, margin))


def at_most(values: Sequence[float], limit: float, unit: str = " pts") -> Part:
    """HOLDS if mean(values) < `limit` with 95% confidence, REFUTED if it is > `limit` with 95% confidence."""
    mean, half = t_interval(values)
    measured = f"{mean:.2f} ± {half:.2f}{unit} (holds below {limit:g}, refuted above)"
    if mean + half < limit:
        return Part(HOLDS, measured)
    if mean - half > limit:
        return Part(REFUTED, measured)
    return Part(INCONCLUSIVE, measured, seeds_needed=seeds_for_mean(values, limit))


def as_part(part: Part | str) -> Part:
    """A part; a bare verdict string (rules registered as PASS/FAIL, or HOLDS/REFUTED) becomes one."""
    return part if isinstance(part, Part) else Part(REGISTERED_AS.get(part, part))


def overall(parts: Mapping[str, Part | str], checks: Mapping[str, bool] | None = None) -> str:
    """A failed implementation check -> INCONCLUSIVE (the measurement cannot be trusted); else a refuted point ->
    REFUTED; else an undecided part -> INCONCLUSIVE; else a refuted slip -> HOLDS WITH A CORRECTION; else HOLDS.
    (Bare strings are parts of rules registered as PASS/FAIL.)"""
    if checks and not all(checks.values()):
        return INCONCLUSIVE
    judged = [as_part(p) for p in parts.values()]
    point = [p.verdict for p in judged if not p.slip]
    if REFUTED in point:
        return REFUTED
    if INCONCLUSIVE in point or any(p.verdict == INCONCLUSIVE for p in judged):
        return INCONCLUSIVE
    return CORRECTED if any(p.verdict == REFUTED for p in judged) else HOLDS


def all_hold(checks: Mapping[str, bool]) -> str:
    """Closed-form rules registered as 'PASS when every check holds, else FAIL'."""
    return HOLDS if all(checks.values()) else REFUTED


def combine(verdicts: Sequence[Part | str]) -> str:
    """Rules registered as 'all parts PASS -> PASS; any FAIL -> FAIL; otherwise INCONCLUSIVE'."""
    return overall(dict(enumerate(verdicts)))
