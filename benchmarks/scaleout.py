"""Scale-out: one `liveblog serve` on SQLite beside 2 and 4 on PostgreSQL + Redis, same run.

    python benchmarks/scaleout.py [--quick] [--readers N] [--updates K] [--writers W]
                                  [--json out.json]

Each setup runs in turn on loopback:

- "1 process, SQLite": one `liveblog serve` on a fresh SQLite folder (the embedded setup);
- "2 workers, PG+Redis" and "4 workers, PG+Redis": that many `liveblog serve --port P`
  processes sharing LIVEBLOG_DATABASE_URL (a fresh PostgreSQL database this script creates on
  127.0.0.1:5432 and drops afterwards), LIVEBLOG_BUS_URL (Redis) and LIVEBLOG_SECRET_KEY.

N readers (WebSocket, `?format=json`) are spread round-robin over the processes; K entries of
~1.5 KB are posted one a second (0.5 s in --quick), round-robin through every process. The
delivery latency is from the POST's send time (taken just before the request, so it includes
the request, the commit and the render; an upper bound on commit-to-reader) to the *last*
reader's receipt, p50/p99 over the K entries. Then W concurrent writers post for a few seconds,
round-robin through every process, with the readers still connected: entries/s, POST
latency, and whether every reader got every entry of both phases.

The load client is benchmarks/loadclient.py (through bench/clients.py); servers and
user/token creation are bench/ours.py. Nothing is pinned with `taskset`: several workers
on a small machine share its cores with each other and with the load client. `--quick`
(N=200, 5 entries, 3 s of writers) is what the test runs; it exits non-zero if any reader
missed an entry."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.clients import Clients
from bench.host import Pinning, log, machine
from bench.ours import Ours
from bench.postgres import REDIS_URL, fresh_database
from bench.report import ms, num, opening
from bench.script import run_script
from bench.stats import latency_summary, percentile
from bench.targets import publish_spaced, write_concurrently

UNPINNED = Pinning([], None, "unpinned: servers and load client share every core (no taskset)")


@dataclass
class Plan:
    readers: int
    updates: int
    interval: float
    writers: int
    throughput_seconds: float
    settle: float
    drain_timeout: float
    setups: list[int]  # process counts; 1 is the SQLite setup


def make_plan(args: argparse.Namespace) -> Plan:
    quick = args.quick
    return Plan(
        readers=args.readers or (200 if quick else 2000),
        updates=args.updates or (5 if quick else 20),
        interval=0.5 if quick else 1.0,
        writers=args.writers,
        throughput_seconds=3.0 if quick else 5.0,
        settle=0.5 if quick else 2.0,
        drain_timeout=15.0 if quick else 60.0,
        setups=[int(n) for n in args.setups.split(",")],
    )


# ---------------------------------------------------------------- processes


class Worker(Ours):
    """One `liveblog serve` of a cluster: Ours with the cluster's settings. The first (the
    lead) makes the editor, the token and the story; the others share them."""

    def __init__(self, workdir: Path, settings: dict[str, str], index: int) -> None:
        workdir.mkdir()
        super().__init__(UNPINNED, workdir, settings)
        self.name = f"worker{index}"
        self.lead: Worker | None = None

    async def prepare(self) -> None:
        if self.lead is None:
            await super().prepare()
            return
        assert self.http is not None
        self.token = self.lead.token
        self.slug = self.lead.slug
        self.http.headers["Authorization"] = f"Bearer {self.token}"


class RoundRobin:
    """Publishes through each of several publishes (one per process) in turn."""

    def __init__(self, publishes: list[Callable[[int], Awaitable[int]]]) -> None:
        self._next = itertools.cycle(publishes)

    async def publish(self, update: int) -> int:
        return await next(self._next)(update)


# ---------------------------------------------------------------- one setup


async def measure(label: str, processes: list[Ours], plan: Plan) -> dict[str, Any]:
    """Start the processes, connect readers round-robin, fan out K entries, then throughput."""
    log(f"{label}: starting {len(processes)} process(es)")
    clients: Clients | None = None
    try:
        for process in processes:
            await process.start()
        for process in processes:
            await process.after_warm_up()  # join at the story's current seq
            await process.warm_up()
        for process in processes:
            await process.after_warm_up()
        clients = Clients.for_readers(plan.readers, None)
        connect_started = time.monotonic()
        ok = failed = 0
        errors: list[str] = []
        count = len(processes)
        for i, process in enumerate(processes):  # reader r goes to process r % count
            share = plan.readers // count + (i < plan.readers % count)
            answer = clients.connect("ws", process.port, process.ws_path(), share)
            ok += answer["ok"]
            failed += answer["failed"]
            errors += answer["errors"]
        log(
            f"{label}: {ok:,} readers connected in {time.monotonic() - connect_started:.1f}s"
            + (f", {failed} failed: {errors[:3]}" if failed else "")
        )
        await asyncio.sleep(plan.settle)

        writer = RoundRobin([process.publish for process in processes])
        sent = await publish_spaced(writer, plan.updates, plan.interval)  # type: ignore[arg-type]
        fan_delivered = await clients.wait_delivered("normal", list(sent), plan.drain_timeout)
        fan = clients.collect("normal", list(sent))

        log(f"{label}: throughput, {plan.writers} writers for {plan.throughput_seconds:g}s")
        started = time.monotonic()
        async with AsyncExitStack() as stack:
            each = [await stack.enter_async_context(p.writers(plan.writers)) for p in processes]
            written = await write_concurrently(
                RoundRobin(each).publish, plan.writers, plan.throughput_seconds
            )
        burst, latencies, post_errors = written.sent, written.latencies, written.errors
        elapsed = time.monotonic() - started
        burst_delivered = await clients.wait_delivered("normal", list(burst), plan.drain_timeout)
        drain_seconds = time.monotonic() - started - elapsed
        every = clients.collect("normal", [*sent, *burst])
        under_load = latency_summary(burst, clients.collect("normal", list(burst)))
    finally:
        if clients is not None:
            clients.close()
        for process in processes:
            await process.stop()
    summary = latency_summary(sent, fan)
    complete = (
        fan_delivered
        and burst_delivered
        and ok == plan.readers
        and every["complete"] == plan.readers
        and every["dups"] == 0
        and not post_errors
    )
    row = {
        "setup": label,
        "processes": len(processes),
        "readers": plan.readers,
        "connected": ok,
        "connect_failed": failed,
        "updates": len(sent),
        **summary,
        "throughput_writers": plan.writers,
        "throughput_seconds": elapsed,
        "throughput_entries": len(burst),
        "entries_per_s": len(burst) / elapsed if elapsed else math.nan,
        "post_errors": len(post_errors),
        "first_post_errors": post_errors[:3],
        "post_p50_ms": percentile(latencies, 50),
        "post_p99_ms": percentile(latencies, 99),
        "post_max_ms": max(latencies) if latencies else math.nan,
        "under_load_last_p50_ms": under_load["last_p50_ms"],
        "under_load_last_p99_ms": under_load["last_p99_ms"],
        "drain_seconds": drain_seconds,
        "readers_complete": every["complete"],
        "missing_deliveries": every["missing"]
        + (plan.readers - every["readers"]) * (len(sent) + len(burst)),
        "duplicates": every["dups"],
        "close_codes": every["close_codes"],
        "every_reader_got_every_entry": complete,
    }
    log(
        f"{label}: last reader p50 {ms(row['last_p50_ms'])} ms, p99 {ms(row['last_p99_ms'])} ms;"
        f" {row['entries_per_s']:.0f} entries/s, POST p99 {ms(row['post_p99_ms'])} ms;"
        f" {row['readers_complete']}/{plan.readers} readers got every entry"
    )
    return row


async def sqlite_setup(workdir: Path, plan: Plan) -> dict[str, Any]:
    ours = Ours(UNPINNED, workdir)
    log("1 process, SQLite: making an editor and a token with the CLI")
    ours.make_editor()
    return await measure("1 process, SQLite", [ours], plan)


async def cluster_setup(workdir: Path, count: int, plan: Plan) -> dict[str, Any]:
    async with fresh_database() as database_url:
        settings = {
            "LIVEBLOG_DATABASE_URL": database_url,
            "LIVEBLOG_BUS_URL": REDIS_URL,
            "LIVEBLOG_SECRET_KEY": secrets.token_urlsafe(32),
        }
        workers = [Worker(workdir / f"w{i}", settings, i) for i in range(count)]
        for worker in workers[1:]:
            worker.lead = workers[0]
        label = f"{count} workers, PG+Redis"
        log(f"{label}: making an editor and a token with the CLI ({database_url})")
        workers[0].make_editor()  # also applies the migrations, once, before any server starts
        return await measure(label, workers, plan)  # type: ignore[arg-type]


# ---------------------------------------------------------------- report


def table(rows: list[dict[str, Any]]) -> Iterator[str]:
    yield (
        "| setup | readers | commit→last reader p50 / p99 (ms) | entries/s | POST p50 / p99 (ms)"
        " | last reader p50 / p99 under writers (ms) | every reader got every entry |"
    )
    yield "|---|--:|--:|--:|--:|--:|---|"
    for r in rows:
        got = (
            "yes"
            if r["every_reader_got_every_entry"]
            else (
                f"**no**: {r['readers_complete']:,}/{r['readers']:,} complete,"
                f" {r['missing_deliveries']:,} missing, {r['post_errors']} POST errors"
            )
        )
        yield (
            f"| {r['setup']} | {r['connected']:,} | {ms(r['last_p50_ms'])} /"
            f" {ms(r['last_p99_ms'])} | {num(r['entries_per_s'], 0)} | {ms(r['post_p50_ms'])} /"
            f" {ms(r['post_p99_ms'])} | {ms(r['under_load_last_p50_ms'])} /"
            f" {ms(r['under_load_last_p99_ms'])} | {got} |"
        )


def report(results: dict[str, Any], plan: Plan) -> str:
    lines = [
        *opening("Scale-out benchmark", results, UNPINNED.note),
        f"{plan.readers:,} WebSocket readers spread round-robin over the processes;"
        f" {plan.updates} entries of ~1.5 KB, {plan.interval:g} s apart, posted round-robin"
        " through every process. Latency is from the POST's send time (just before the"
        " request: request, commit and render included, so an upper bound on commit time) to"
        f" the **last** reader's receipt. Throughput: {plan.writers} concurrent writers for"
        f" {plan.throughput_seconds:g} s, round-robin through every process, readers still"
        " connected; every reader must get every entry of both phases.",
        "",
        *table(results["setups"]),
    ]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Scale-out: 1 process on SQLite, 2 and 4 workers on PostgreSQL + Redis."
    )
    parser.add_argument("--quick", action="store_true", help="N=200, 5 entries, 3 s throughput")
    parser.add_argument("--readers", type=int, help="readers per setup (2000)")
    parser.add_argument("--updates", type=int, help="entries per fan-out run (20)")
    parser.add_argument("--writers", type=int, default=8, help="concurrent writers (8)")
    parser.add_argument("--setups", default="1,2,4", help="process counts; 1 = SQLite (1,2,4)")
    parser.add_argument("--json", help="also write every number to this JSON file")
    return parser.parse_args(argv)


async def run(plan: Plan) -> dict[str, Any]:
    log(f"scaleout: {UNPINNED.note}")
    results: dict[str, Any] = {
        "machine": machine(),
        "pinning": UNPINNED.note,
        "command": "python benchmarks/scaleout.py " + " ".join(sys.argv[1:]),
        "plan": vars(plan),
        "setups": [],
    }
    with tempfile.TemporaryDirectory(prefix="liveblog-scaleout-") as tmp:
        for count in plan.setups:
            workdir = Path(tmp) / f"setup{count}"
            workdir.mkdir()
            if count == 1:
                results["setups"].append(await sqlite_setup(workdir, plan))
            else:
                results["setups"].append(await cluster_setup(workdir, count, plan))
    return results


def conclude(plan: Plan, results: dict[str, Any]) -> tuple[str, str | None]:
    """The report, and why the run failed (None if it did not)."""
    ok = all(r["every_reader_got_every_entry"] for r in results["setups"])
    results["every_reader_got_every_entry"] = ok
    return report(results, plan), None if ok else "some reader missed an entry (see the table)"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_script(
        "scaleout", args, make_plan, run, conclude, open_files=lambda plan: plan.readers + 100
    )


if __name__ == "__main__":
    sys.exit(main())
