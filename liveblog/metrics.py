"""Process metrics in the Prometheus text format, kept in a registry of the app's own."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


@dataclass
class Metrics:
    """The series this process exports on /metrics."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.readers = Gauge(
            "liveblog_readers", "Live readers connected to this process", registry=r
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

    def exposition(self) -> bytes:
        """The current values in the Prometheus text format."""
        return generate_latest(self.registry)
