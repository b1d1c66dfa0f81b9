"""What one run of benchmarks/fanout.py measures: its scenarios and their sizes."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

SCENARIOS = ("ws", "slow", "sse", "throughput", "storm")
DEFAULT_SCENARIOS = {"ws", "slow", "sse", "throughput"}  # the storm runs when asked for


@dataclass
class StormPlan:
    """The reconnect storm: readers of one story while the server restarts (SQLite) or loses
    a worker to SIGKILL (PostgreSQL + Redis, several workers)."""

    readers: int
    backend: str  # "sqlite" or "postgres"
    workers: int
    post_interval: float  # seconds between entries, before, during and after the restart
    before: float  # seconds of posting before the restart
    within: float  # every reader must be back and caught up this long after the restart


@dataclass
class Plan:
    readers: list[int]
    updates: int
    interval: float
    rounds: int  # fan-out runs of each server at each N, taken in turn
    nchan: bool
    quick: bool
    slow_normal: int
    slow_stalled: int
    slow_seconds: float
    slow_interval: float
    sse_readers: list[int]
    throughput_readers: int
    throughput_backend: str
    throughput_seconds: float
    writers: int
    settle: float
    drain_timeout: float
    floor_asyncio: bool
    scenarios: set[str]
    storm: StormPlan


def make_plan(args: argparse.Namespace) -> Plan:
    quick = args.quick
    readers = [int(n.replace("_", "")) for n in args.readers.split(",")] if args.readers else []
    plan = Plan(
        readers=readers or ([200] if quick else [1000, 5000, 10000]),
        updates=args.updates or (5 if quick else 20),
        interval=args.interval or (0.5 if quick else 1.0),
        rounds=args.rounds,
        nchan=not (args.no_nchan or quick),
        quick=quick,
        slow_normal=50 if quick else 1000,
        slow_stalled=5 if quick else 20,
        slow_seconds=5.0 if quick else 60.0,
        slow_interval=0.25 if quick else 0.5,
        sse_readers=readers or ([100] if quick else [5000, 10000]),
        throughput_readers=args.throughput_readers
        if args.throughput_readers is not None
        else (100 if quick else 1000),
        throughput_backend=args.throughput_backend,
        throughput_seconds=3.0 if quick else 10.0,
        writers=args.writers,
        settle=0.5 if quick else 2.0,
        drain_timeout=10.0 if quick else 30.0,
        floor_asyncio=args.floor_asyncio,
        scenarios=set(args.only.split(",")) if args.only else DEFAULT_SCENARIOS,
        storm=StormPlan(
            readers=args.storm_readers or (500 if quick else 10_000),
            backend=args.storm_backend,
            workers=args.workers or (2 if args.storm_backend == "postgres" else 1),
            post_interval=0.25,
            before=2.0 if quick else 5.0,
            within=30.0,
        ),
    )
    unknown = plan.scenarios - set(SCENARIOS)
    if unknown:
        raise ValueError(f"unknown scenario {', '.join(sorted(unknown))}: pick from {SCENARIOS}")
    if plan.storm.workers > 1 and plan.storm.backend != "postgres":
        raise ValueError("--workers above 1 needs --storm-backend postgres (a shared bus)")
    return plan
