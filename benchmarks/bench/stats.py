"""Percentiles and latency summaries of the numbers a run collects."""

from __future__ import annotations

import math
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(sent: dict[int, int], result: dict[str, Any]) -> dict[str, Any]:
    """Publish-to-last-reader (and first) per update; every delivery's latency too."""
    last, first, deliveries = [], [], []
    for update, at in sent.items():
        times = result["receipts"].get(update) or []
        if not times:
            continue
        last.append((max(times) - at) / 1e6)
        first.append((min(times) - at) / 1e6)
        deliveries.extend((t - at) / 1e6 for t in times)
    return {
        "last_p50_ms": percentile(last, 50),
        "last_p99_ms": percentile(last, 99),
        "last_max_ms": max(last) if last else math.nan,
        "first_p50_ms": percentile(first, 50),
        "delivery_p50_ms": percentile(deliveries, 50),
        "delivery_p99_ms": percentile(deliveries, 99),
        "delivery_max_ms": max(deliveries) if deliveries else math.nan,
    }


def slope(points: list[tuple[float, float]]) -> float:
    """The least-squares slope of y over x; nan for fewer than two distinct x."""
    if len(points) < 2:
        return math.nan
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return math.nan
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
