"""Process metrics in the Prometheus text format, kept in a registry of the app's own."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from liveblog.db.query_count import count_queries


@dataclass
class Metrics:
    """The series this process exports on /metrics."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.readers = Gauge(
            "liveblog_readers", "Live readers connected to this process", registry=r
        )
        self.direct_readers = Gauge(
            "liveblog_readers_direct",
            "Live readers caught up and written to directly by the fan-out (no task wakes up)",
            registry=r,
        )
        self.frames_rendered = Counter(
            "liveblog_frames_rendered", "Events rendered (HTML and JSON, once each)", registry=r
        )
        self.events_published = Counter(
            "liveblog_events_published", "Story events committed by this process", registry=r
        )
        self.slow_readers_dropped = Counter(
            "liveblog_slow_readers_dropped",
            "Readers asked to reconnect because their backlog was full",
            registry=r,
        )
        self.db_queries = Counter(
            "liveblog_db_queries", "SQL statements sent to the database", registry=r
        )
        self.readers_refused = Counter(
            "liveblog_readers_refused",
            "Readers turned away because this process had LIVEBLOG_MAX_READERS already",
            ["transport"],
            registry=r,
        )
        for transport in ("websocket", "sse"):
            self.readers_refused.labels(transport)  # both series exist from the start, at 0

        self.fanout_seconds = Histogram(
            "liveblog_fanout_seconds",
            "Time from an event's commit to its frame being queued for every local reader",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )

        self.publish_stage_seconds = Histogram(
            "liveblog_publish_stage_seconds",
            "Time a write spends in each stage: prepare (validate, render), lock_wait, "
            "transaction (its statements), commit, ring (the doorbell)",
            ["stage"],
            buckets=(
                0.0001,
                0.00025,
                0.0005,
                0.001,
                0.0025,
                0.005,
                0.01,
                0.025,
                0.05,
                0.1,
                0.25,
                1,
            ),
            registry=r,
        )

        self.collection_pauses = Histogram(
            "liveblog_gc_pause_seconds",
            "How long each run of Python's garbage collector stopped the process, by generation"
            " (2 is a full collection: every tracked object, about 40 per open reader)",
            ["generation"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )

    def count_database_queries(self, engines: Iterable[Engine]) -> None:
        """Count every statement the engines execute in liveblog_db_queries_total."""
        for engine in engines:
            count_queries(engine, self.db_queries)

    def count_bus_reconnects(self, reconnects: Callable[[], int]) -> None:
        """Export the bus's reconnect count, read whenever /metrics is scraped."""
        self.registry.register(
            _ReadOnlyCounter("liveblog_bus_reconnects", "Bus reconnects", reconnects)
        )

    def exposition(self) -> bytes:
        """The current values in the Prometheus text format."""
        return generate_latest(self.registry)


class _ReadOnlyCounter(Collector):
    """A counter whose value another object keeps."""

    def __init__(self, name: str, documentation: str, read: Callable[[], int]) -> None:
        self._name, self._documentation, self._read = name, documentation, read

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(self._name, self._documentation, value=self._read())
