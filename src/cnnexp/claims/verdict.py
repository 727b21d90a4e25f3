"""Verdict rules shared by the claims: exact checks, and differences of means over seeds."""

from __future__ import annotations

from collections.abc import Sequence

from cnnexp.claims.registry import FAIL, INCONCLUSIVE, PASS
from cnnexp.stats import difference_interval, t_interval


def all_hold(checks: dict[str, bool]) -> str:
    """Closed-form claims: PASS when every check holds, else FAIL."""
    return PASS if all(checks.values()) else FAIL


def greater(a: Sequence[float], b: Sequence[float], margin: float = 0.0) -> str:
    """PASS if mean(a) - mean(b) > margin with 95% confidence, FAIL if it is < margin with 95%
    confidence, INCONCLUSIVE when the interval straddles the margin."""
    _, low, high = difference_interval(a, b)
    if low > margin:
        return PASS
    if high < margin:
        return FAIL
    return INCONCLUSIVE


def beyond(values: Sequence[float], above: float, below: float) -> str:
    """PASS if mean(values) > `above` with 95% confidence, FAIL if it is < `below` with 95%
    confidence, INCONCLUSIVE otherwise."""
    mean, half = t_interval(values)
    if mean - half > above:
        return PASS
    if mean + half < below:
        return FAIL
    return INCONCLUSIVE


def combine(verdicts: Sequence[str]) -> str:
    """All parts PASS -> PASS; any FAIL -> FAIL; otherwise INCONCLUSIVE."""
    if any(v == FAIL for v in verdicts):
        return FAIL
    return PASS if all(v == PASS for v in verdicts) else INCONCLUSIVE
