"""How the server's process runs Python's cyclic garbage collector, and the pauses it costs.

A reader's connection is freed by reference counting when it closes (nothing of it waits in a
cycle: tests/live/test_closed_readers_freed.py), so the collector has little to find. What it
costs is the full collection, which walks every tracked object, about 40 per open reader:
133 ms of one core at 5,000 readers. Python's default runs one each time the old generation
has grown by a quarter: 7 times while 10,000 readers connect, and again in the minute after,
where it lands among the updates as a pause for every reader."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import Histogram

# Collections of the middle generation between two chances of a full one (Python's is 10).
FULL_COLLECTION_SPACING = 100


@contextmanager
def collector_for_serving(pauses: Histogram) -> Iterator[None]:
    """For as long as the block runs: what start-up made is kept out of every collection,
    full ones are spaced out, and each collection's pause is observed in pauses (labelled
    by generation). Everything is put back after."""
    # What start-up made lives as long as the process: freezing it keeps it out of every
    # later collection, so a full one scans only what came after.
    gc.collect()
    gc.freeze()
    thresholds = gc.get_threshold()
    young, middle, _ = thresholds
    gc.set_threshold(young, middle, FULL_COLLECTION_SPACING)
    timer = _PauseTimer(pauses)
    gc.callbacks.append(timer)
    try:
        yield
    finally:
        gc.callbacks.remove(timer)
        gc.set_threshold(*thresholds)
        gc.unfreeze()


class _PauseTimer:
    """A gc callback: each collection's duration, observed by generation."""

    def __init__(self, pauses: Histogram) -> None:
        self._by_generation = [pauses.labels(str(g)) for g in range(3)]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            elapsed = time.perf_counter() - self._started
            self._by_generation[info["generation"]].observe(elapsed)
