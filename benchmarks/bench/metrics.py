"""A server's /metrics read into numbers, and what changed between two reads."""

from __future__ import annotations

import math
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

Labels = tuple[tuple[str, str], ...]
Samples = dict[tuple[str, Labels], float]


def parse_metrics(text: str) -> Samples:
    """Every sample of a Prometheus text exposition, by (sample name, sorted labels)."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """One sample's value, or None if the server does not export it."""
    return samples.get((name, tuple(sorted(labels.items()))))


def increase(before: Samples, after: Samples, name: str) -> float | None:
    """How much an unlabelled counter grew between two reads (None if it is not exported)."""
    start, end = value(before, name), value(after, name)
    if start is None or end is None:
        return None
    return end - start


def histogram_increase(
    before: Samples, after: Samples, name: str, label: str
) -> dict[str, dict[str, Any]]:
    """Per value of label, the observations a histogram gained between two reads: their
    count, mean and median (interpolated within buckets), in milliseconds."""
    stages: dict[str, dict[str, Any]] = {}
    for (sample, labels), end in after.items():
        if sample != f"{name}_count":
            continue
        key = dict(labels).get(label)
        if key is None:
            continue
        count = end - before.get((sample, labels), 0.0)
        total = after[(f"{name}_sum", labels)] - before.get((f"{name}_sum", labels), 0.0)
        buckets = _bucket_increase(before, after, f"{name}_bucket", dict(labels))
        stages[key] = {
            "count": int(count),
            "mean_ms": total / count * 1000 if count else math.nan,
            "p50_ms": _quantile(buckets, 0.5) * 1000 if count else math.nan,
        }
    return dict(sorted(stages.items(), key=lambda kv: -kv[1]["mean_ms"]))


def _bucket_increase(
    before: Samples, after: Samples, name: str, labels: dict[str, str]
) -> list[tuple[float, float]]:
    """(upper bound, cumulative count gained) of each bucket of one labelled series."""
    rows = []
    for (sample, sample_labels), end in after.items():
        found = dict(sample_labels)
        le = found.pop("le", None)
        if sample == name and le is not None and found == labels:
            rows.append((float(le), end - before.get((sample, sample_labels), 0.0)))
    return sorted(rows)


def _quantile(buckets: list[tuple[float, float]], q: float) -> float:
    """Prometheus's histogram_quantile: linear within the bucket that holds the rank."""
    if not buckets or buckets[-1][1] <= 0:
        return math.nan
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for upper, cumulative in buckets:
        if cumulative >= rank:
            if math.isinf(upper):
                return lower
            inside = cumulative - below
            return lower + (upper - lower) * ((rank - below) / inside if inside else 0.0)
        lower, below = upper, cumulative
    return lower
