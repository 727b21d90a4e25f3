"""95% intervals over seeds: one mean, and the difference of two means (cnnexp-report, the claims).

From scipy's t quantile rather than `ttest_1samp(...).confidence_interval()`: scipy warns of
catastrophic cancellation when seeds agree exactly (the same accuracy twice is common), where the
interval is simply zero wide.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

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
