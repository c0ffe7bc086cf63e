"""Summaries of latency samples, shared by the benchmarks in this folder."""

import math
import statistics
from collections.abc import Sequence


def distribution(values: Sequence[float]) -> dict[str, float] | None:
    """``{"min", "p50", "p95", "p99", "max", "mean"}`` of ``values`` (nearest-rank
    percentiles, so every figure is one of the samples), or None when there are none."""
    if not values:
        return None
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    return {
        "min": ordered[0],
        "p50": rank(50),
        "p95": rank(95),
        "p99": rank(99),
        "max": ordered[-1],
        "mean": round(statistics.fmean(ordered), 2),
    }
