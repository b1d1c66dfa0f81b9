"""Publish throughput: entries per second one story takes from concurrent writers, readers
connected."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from bench.host import Pinning, cpu_seconds, log
from bench.metrics import histogram_increase, increase
from bench.ours import Ours
from bench.report import ms, num
from bench.stats import latency_summary, percentile
from bench.targets import serving, write_concurrently

from scenarios.plan import Plan

STAGES = "liveblog_publish_stage_seconds"  # per-stage publish timings, by label "stage"
QUERIES = "liveblog_db_queries_total"


async def throughput(ours: Ours, plan: Plan, pin: Pinning) -> dict[str, Any]:
    """Entries per second one story takes with readers connected, from concurrent writers."""
    readers, writers, seconds = plan.throughput_readers, plan.writers, plan.throughput_seconds
    log(f"throughput: {writers} writers for {seconds:.0f}s, {readers:,} readers connected")
    async with serving(ours, readers, pin) as clients:
        pid = ours.stats_pid
        connected = clients.connect("ws", ours.port, ours.ws_path(), readers)
        await asyncio.sleep(plan.settle)
        server_cpu, client_cpu = cpu_seconds(pid), clients.cpu()
        publisher_cpu = time.process_time()
        metrics_before = await ours.scrape()
        started = time.monotonic()
        async with ours.writers(writers) as publish:
            burst = await write_concurrently(publish, writers, seconds)
        elapsed = time.monotonic() - started
        drained = await clients.wait_delivered("normal", list(burst.sent), plan.drain_timeout)
        drain_seconds = time.monotonic() - started - elapsed
        server_cpu = cpu_seconds(pid) - server_cpu
        client_cpu = clients.cpu() - client_cpu
        publisher_cpu = time.process_time() - publisher_cpu
        metrics_after = await ours.scrape()
        result = clients.collect("normal", list(burst.sent))
        extra = await ours.extra_stats()
    summary = latency_summary(burst.sent, result)
    entries = len(burst.sent)
    queries = increase(metrics_before, metrics_after, QUERIES)
    row = {
        "backend": "PostgreSQL" if plan.throughput_backend == "postgres" else "SQLite",
        "readers": connected["ok"],
        "writers": writers,
        "seconds": elapsed,
        "entries": entries,
        "entries_per_s": entries / elapsed,
        "errors": len(burst.errors),
        "first_errors": burst.errors[:3],
        "post_p50_ms": percentile(burst.latencies, 50),
        "post_p99_ms": percentile(burst.latencies, 99),
        "post_max_ms": max(burst.latencies) if burst.latencies else math.nan,
        "all_delivered": drained,
        "drain_seconds": drain_seconds,
        "readers_complete": result["complete"],
        "readers_lost": result["lost"],
        "close_codes": result["close_codes"],
        "server_cpu_share": server_cpu / (elapsed + drain_seconds),
        "client_cpu_share": client_cpu / (elapsed + drain_seconds),
        # The writers run in this process, on the load client's core: when it is busy, POSTs
        # wait on the client's side too.
        "publisher_cpu_share": publisher_cpu / (elapsed + drain_seconds),
        "publish_stages": histogram_increase(metrics_before, metrics_after, STAGES, "stage"),
        "db_queries_per_entry": queries / entries if queries is not None and entries else None,
        **{k: v for k, v in summary.items() if k.startswith("delivery") or k.startswith("last")},
        **extra,
    }
    log(
        f"throughput: {row['entries_per_s']:.0f} entries/s, POST p99 {row['post_p99_ms']:.1f} ms,"
        f" {row['readers_complete']}/{row['readers']} readers got every entry"
    )
    return row


def report_lines(tp: dict[str, Any]) -> list[str]:
    """The publish-throughput section of the report, with the server's per-stage timings
    and database statements per entry when it exports them."""
    lines = [
        f"Publish throughput (ours, {tp['backend']}, one process, one story,"
        f" {tp['readers']:,} readers connected,"
        f" {tp['writers']} concurrent writers for {tp['seconds']:.0f} s):",
        "",
        "| entries/s | POST p50 / p99 / max (ms) | readers that got every entry |"
        " time to deliver the rest after the last POST (s) | readers dropped |",
        "|--:|--:|--:|--:|--:|",
        f"| {num(tp['entries_per_s'], 0)} | {ms(tp['post_p50_ms'])} / {ms(tp['post_p99_ms'])}"
        f" / {ms(tp['post_max_ms'])} | {tp['readers_complete']:,}/{tp['readers']:,} |"
        f" {num(tp['drain_seconds'])}{'' if tp['all_delivered'] else ' (timed out)'} |"
        f" {tp.get('slow_readers_dropped', '–')} |",
        "",
        "CPU over the run, as a share of one core: server"
        f" {num(tp['server_cpu_share'] * 100, 0)}%, the readers' load client"
        f" {num(tp['client_cpu_share'] * 100, 0)}%, the writers (this process, on the load"
        f" client's core) {num(tp['publisher_cpu_share'] * 100, 0)}%.",
        "",
    ]
    stages = tp.get("publish_stages") or {}
    if stages:
        lines += [
            f"Publish stages (the server's `{STAGES}`, over the writers' run):",
            "",
            "| stage | count | mean (ms) | ~p50 (ms, within its bucket) |",
            "|---|--:|--:|--:|",
            *(
                f"| {name} | {s['count']:,} | {ms(s['mean_ms'])} | {ms(s['p50_ms'])} |"
                for name, s in stages.items()
            ),
            "",
        ]
    if tp.get("db_queries_per_entry") is not None:
        lines += [
            f"Database statements per published entry: {num(tp['db_queries_per_entry'])}"
            f" (`{QUERIES}` over the writers' run, fan-out reads included).",
            "",
        ]
    return lines
