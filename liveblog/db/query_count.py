"""Counting the SQL statements a process sends to its database, for /metrics."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter
from sqlalchemy import Engine, event


def count_queries(engine: Engine, counter: Counter) -> None:
    """Add one to counter for every statement the engine executes (each row of an
    executemany batch counts once: it is one round trip)."""

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args: Any) -> None:
        counter.inc()
