"""The collector settings a serving process runs with, and the pauses it reports."""

from __future__ import annotations

import gc

from liveblog.garbage_collection import FULL_COLLECTION_SPACING, collector_for_serving
from liveblog.metrics import Metrics


def _observed(metrics: Metrics, generation: str) -> tuple[float, float]:
    count = metrics.registry.get_sample_value(
        "liveblog_gc_pause_seconds_count", {"generation": generation}
    )
    total = metrics.registry.get_sample_value(
        "liveblog_gc_pause_seconds_sum", {"generation": generation}
    )
    assert count is not None and total is not None
    return count, total


def test_full_collections_are_spaced_timed_and_put_back() -> None:
    metrics = Metrics()
    thresholds = gc.get_threshold()
    made_before = [[n] for n in range(1000)]  # start-up's objects, to be frozen
    with collector_for_serving(metrics.collection_pauses):
        assert gc.get_threshold() == (*thresholds[:2], FULL_COLLECTION_SPACING)
        assert gc.get_freeze_count() >= len(made_before)
        count, total = _observed(metrics, "2")
        gc.collect()
        assert _observed(metrics, "2")[0] == count + 1
        assert _observed(metrics, "2")[1] > total
        gc.collect(0)
        assert _observed(metrics, "0")[0] >= 1
    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == 0
    count = _observed(metrics, "2")[0]
    gc.collect()
    assert _observed(metrics, "2")[0] == count  # no longer timed
