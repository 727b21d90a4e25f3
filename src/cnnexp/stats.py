"""95% intervals over seeds: one mean, and the difference of two means (cnnexp-report, the claims).

From scipy's t quantile rather than `ttest_1samp(...).confidence_interval()`: scipy warns of
catastrophic cancellation when seeds agree exactly (the same accuracy twice is common), where the
interval is simply zero wide.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence

from scipy import stats


def t_interval(values: Sequence[float]) -> tuple[float, float]:
    """Mean and half-width of the 95% t-interval (nan half-width for a single value)."""
    n = len(values)
    mean = math.fsum(values) / n
    if n < 2:
        return mean, math.nan
    return mean, float(stats.t.ppf(0.975, n - 1) * statistics.stdev(values) / math.sqrt(n))


def difference_interval(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """mean(a) - mean(b) and its 95% Welch interval (low, high): the seeds are independent trainings."""
    diff = math.fsum(a) / len(a) - math.fsum(b) / len(b)
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(stats.t.ppf(0.975, dof)) * se
    return diff, diff - half, diff + half


# Beyond this many seeds a power statement says "no practical number".
MAX_SEEDS = 1000


def seeds_to_clear(spread: float, gap: float, dof: Callable[[int], float], start: int) -> int | None:
    """The fewest seeds n >= `start` at which a 95% t-interval of half-width t(dof(n)) * spread / sqrt(n) is
    narrower than `gap`, the distance from the measured mean to the margin (None: more than MAX_SEEDS, or no
    gap at all). What a power statement reads off the measured spread, assuming it stays as measured."""
    if gap <= 0 or not math.isfinite(spread):
        return None
    for n in range(max(start, 2), MAX_SEEDS + 1):
        if float(stats.t.ppf(0.975, dof(n))) * spread / math.sqrt(n) < gap:
            return n
    return None


def seeds_for_mean(values: Sequence[float], margin: float) -> int | None:
    """Seeds for the 95% interval of mean(values) to clear `margin` (None when the mean sits on it)."""
    mean = math.fsum(values) / len(values)
    return seeds_to_clear(statistics.stdev(values), abs(mean - margin), lambda n: n - 1, len(values))


def seeds_for_difference(a: Sequence[float], b: Sequence[float], margin: float) -> int | None:
    """Seeds per arm for the 95% Welch interval of mean(a) - mean(b) to clear `margin`, both arms at n seeds."""
    diff = math.fsum(a) / len(a) - math.fsum(b) / len(b)
    va, vb = statistics.variance(a), statistics.variance(b)
    if va + vb == 0:
        return None
    return seeds_to_clear(math.sqrt(va + vb), abs(diff - margin),
                          lambda n: (va + vb) ** 2 * (n - 1) / (va**2 + vb**2), max(len(a), len(b)))
