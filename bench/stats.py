"""Percentiles and small summaries, the same for every scenario."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..1)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_ms(values_s: Sequence[float], prefix: str = "") -> dict[str, float | int | None]:
    """p50/p95/p99/max of latencies given in seconds, in milliseconds."""
    ordered = sorted(values_s)

    def ms(value: float) -> float | None:
        return None if math.isnan(value) else round(value * 1000, 2)

    return {
        f"{prefix}n": len(ordered),
        f"{prefix}p50_ms": ms(percentile(ordered, 0.50)),
        f"{prefix}p95_ms": ms(percentile(ordered, 0.95)),
        f"{prefix}p99_ms": ms(percentile(ordered, 0.99)),
        f"{prefix}max_ms": ms(ordered[-1]) if ordered else None,
    }


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0
