"""Fan-out: N readers of one server (WebSocket or server-sent events), K updates; latency to
the last reader, CPU and memory per update."""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections.abc import Iterator
from typing import Any

from bench.host import Pinning, cpu_split, log, rss_bytes
from bench.metrics import Samples, histogram_increase
from bench.report import ms, num, ratio, share
from bench.stats import latency_summary
from bench.targets import Target, publish_spaced, serving

from scenarios.plan import Plan

# Our server's histogram of garbage-collector pauses, by generation (2: full collections).
GC_PAUSES = "liveblog_gc_pause_seconds"


async def fanout(
    target: Target, readers: int, plan: Plan, pin: Pinning, kind: str = "ws"
) -> dict[str, Any]:
    """N readers of one server, K updates: latency to the last reader, CPU, memory."""
    label = f"{target.name} {kind} N={readers:,}"
    log(f"{label}: starting")
    async with serving(target, readers, pin) as clients:
        pid = target.stats_pid
        path = target.ws_path() if kind == "ws" else target.sse_path()
        rss_before = rss_bytes(pid)
        connected = clients.connect(kind, target.port, path, readers)
        failed = connected["failed"]
        log(
            f"{label}: {connected['ok']:,} readers connected in {connected['seconds']:.1f}s"
            + (f", {failed} failed: {connected['errors']}" if failed else "")
        )
        await asyncio.sleep(plan.settle)
        rss_after = rss_bytes(pid)
        metrics_before = await target.scrape()
        server_start, client_cpu = cpu_split(pid), clients.cpu()
        started = time.monotonic()
        sent = await publish_spaced(target, plan.updates, plan.interval)
        delivered = await clients.wait_delivered("normal", list(sent), plan.drain_timeout)
        elapsed = time.monotonic() - started
        server_user, server_system = (
            end - start for end, start in zip(cpu_split(pid), server_start, strict=True)
        )
        server_cpu = server_user + server_system
        client_cpu = clients.cpu() - client_cpu
        collections = full_collections(metrics_before, await target.scrape())
        result = clients.collect("normal", list(sent))
        extra = await target.extra_stats()
    summary = latency_summary(sent, result)
    complete = result["complete"] == readers and delivered and result["dups"] == 0
    row = {
        "server": target.name,
        "transport": kind,
        "readers": readers,
        "connected": connected["ok"],
        "connect_failed": connected["failed"],
        "connect_seconds": round(connected["seconds"], 2),
        "updates": len(sent),
        **summary,
        "deliveries_per_s": readers / (summary["last_p50_ms"] / 1000)
        if summary["last_p50_ms"] > 0
        else math.nan,
        "server_cpu_ms_per_update": server_cpu * 1000 / len(sent),
        # Kernel time is mostly the sockets' sends (loopback TCP, both ends); user time is
        # the server's own code.
        "server_system_share": server_system / server_cpu if server_cpu else math.nan,
        "client_cpu_ms_per_update": client_cpu * 1000 / len(sent),
        "server_cpu_share": server_cpu / elapsed,
        "client_cpu_share": client_cpu / elapsed,
        "rss_before_mib": rss_before / 2**20,
        "rss_after_mib": rss_after / 2**20,
        "kib_per_reader": (rss_after - rss_before) / 1024 / max(1, connected["ok"]),
        "frame_bytes": result["frame_bytes"],
        "readers_complete": result["complete"],
        "missing_deliveries": result["missing"] + (readers - result["readers"]) * len(sent),
        "duplicates": result["dups"],
        "close_codes": result["close_codes"],
        **collections,
        "every_reader_got_every_update": complete,
        **extra,
    }
    log(
        f"{label}: last reader p50 {row['last_p50_ms']:.1f} ms, p99 {row['last_p99_ms']:.1f} ms,"
        f" server CPU {row['server_cpu_ms_per_update']:.1f} ms/update"
        f" ({row['server_system_share']:.0%} in the kernel),"
        f" {row['kib_per_reader']:.1f} KiB/reader, {frame_size(row)} per update,"
        f" full GCs among the updates {pauses(row)}, complete={complete}"
    )
    return row


# Measures a row of several rounds gives as their median; and counts, as their sum.
MEDIANS = (
    "last_p50_ms",
    "last_p99_ms",
    "last_max_ms",
    "first_p50_ms",
    "delivery_p50_ms",
    "delivery_p99_ms",
    "delivery_max_ms",
    "server_cpu_ms_per_update",
    "server_system_share",
    "client_cpu_ms_per_update",
    "server_cpu_share",
    "client_cpu_share",
    "kib_per_reader",
)
SUMS = ("updates", "missing_deliveries", "duplicates", "full_collections", "full_collection_ms")
# What the report shows of each round.
ROUND_MEASURES = ("last_p50_ms", "last_p99_ms", "server_cpu_ms_per_update", "full_collections")


def combine_rounds(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One server's fan-out rows of several rounds (same N) as one: each measure's median,
    counts summed, and each round's main measures under "rounds"."""
    if len(runs) == 1:
        return runs[0]
    row = dict(runs[0])
    for key in MEDIANS:
        row[key] = statistics.median(run[key] for run in runs)
    for key in SUMS:
        if key in row:
            row[key] = sum(run[key] for run in runs)
    p50 = row["last_p50_ms"]
    row["deliveries_per_s"] = row["readers"] / (p50 / 1000) if p50 > 0 else math.nan
    row["readers_complete"] = min(run["readers_complete"] for run in runs)
    row["every_reader_got_every_update"] = all(r["every_reader_got_every_update"] for r in runs)
    row["rounds"] = [{key: run.get(key) for key in ROUND_MEASURES} for run in runs]
    return row


def full_collections(before: Samples, after: Samples) -> dict[str, Any]:
    """The server's full garbage collections between two reads of its metrics, and their
    pauses in all (none for servers that do not export them)."""
    full = histogram_increase(before, after, GC_PAUSES, "generation").get("2")
    if full is None:
        return {}
    count = full["count"]
    return {
        "full_collections": count,
        "full_collection_ms": full["mean_ms"] * count if count else 0.0,
    }


def pauses(row: dict[str, Any]) -> str:
    """Full collections among the updates and their pause in all ("–" for servers that do
    not count them)."""
    if "full_collections" not in row:
        return "–"
    return f"{row['full_collections']} ({row['full_collection_ms']:.0f} ms)"


# ---------------------------------------------------------------- report


def share_of(row: dict[str, Any], key: str) -> str:
    """A row's share as a percentage; "?" in rows from before it was measured."""
    value = row.get(key)
    return "?" if value is None or math.isnan(value) else f"{value:.0%}"


def fanout_table(rows: list[dict[str, Any]]) -> Iterator[str]:
    yield (
        "| server | N | last reader p50 / p99 / max (ms) | deliveries/s | server CPU per update"
        " (ms, kernel's share) | full GCs among the updates (pause) | load-client CPU per"
        " update (ms, share of last-reader p50) |"
        " KiB per idle reader | frame bytes | every reader got every update |"
    )
    yield "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|"
    for r in rows:
        got = (
            "yes"
            if r["every_reader_got_every_update"]
            else (
                f"**no**: {r['readers_complete']:,}/{r['readers']:,} complete, "
                f"{r['missing_deliveries']:,} missing"
            )
        )
        yield (
            f"| {r['server']} | {r['readers']:,} | {ms(r['last_p50_ms'])} / "
            f"{ms(r['last_p99_ms'])} / {ms(r['last_max_ms'])} | {num(r['deliveries_per_s'], 0)} |"
            f" {num(r['server_cpu_ms_per_update'])} ({share_of(r, 'server_system_share')}) |"
            f" {pauses(r)} | {num(r['client_cpu_ms_per_update'])}"
            f" ({share(r['client_cpu_ms_per_update'], r['last_p50_ms'])}) |"
            f" {num(r['kib_per_reader'])} | {frame_size(r)} | {got} |"
        )


def frame_size(row: dict[str, Any]) -> str:
    """A reader's message in bytes, and for ours against the entry's own HTML."""
    html = row.get("entry_html_bytes")
    size = f"{row['frame_bytes']:,}"
    return f"{size} ({row['frame_bytes'] / html:.2f}x the entry's HTML)" if html else size


def _pairs(rows: list[dict[str, Any]]) -> Iterator[tuple[int, str, dict, dict]]:
    """(N, other server's name, our row, its row) for each N both ran, by N, floor first."""
    by = {(r["server"], r["readers"]): r for r in rows}
    for n in sorted({n for server, n in by if server == "ours"}):
        for other_name in ("floor", "nchan"):
            other = by.get((other_name, n))
            if other is not None:
                yield n, other_name, by["ours", n], other


def ratio_table(rows: list[dict[str, Any]]) -> Iterator[str]:
    yield (
        "| N | compared with | last reader p50 | last reader p99 | server CPU per update |"
        " KiB per idle reader |"
    )
    yield "|--:|---|--:|--:|--:|--:|"
    for n, other_name, ours, other in _pairs(rows):
        yield (
            f"| {n:,} | {other_name} | {ratio(ours['last_p50_ms'], other['last_p50_ms'])} |"
            f" {ratio(ours['last_p99_ms'], other['last_p99_ms'])} |"
            f" {ratio(ours['server_cpu_ms_per_update'], other['server_cpu_ms_per_update'])} |"
            f" {ratio(ours['kib_per_reader'], other['kib_per_reader'])} |"
        )


def rounds_table(rows: list[dict[str, Any]]) -> Iterator[str]:
    """Ours against each other server, round by round (runs taken in turn)."""
    yield "| N | compared with | each round: last reader p50 | each round: server CPU per update |"
    yield "|--:|---|--:|--:|"
    for n, other_name, ours, other in _pairs([r for r in rows if "rounds" in r]):
        pairs = list(zip(ours["rounds"], other["rounds"], strict=True))
        p50s = ", ".join(ratio(o["last_p50_ms"], t["last_p50_ms"]) for o, t in pairs)
        cpus = ", ".join(
            ratio(o["server_cpu_ms_per_update"], t["server_cpu_ms_per_update"]) for o, t in pairs
        )
        yield f"| {n:,} | {other_name} | {p50s} | {cpus} |"


def _rounds_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The round-by-round ratios, when the rows are of several rounds."""
    if not any("rounds" in r for r in rows) or not _compared(rows):
        return []
    count = max(len(r.get("rounds", [])) for r in rows)
    return [
        f"Each server ran {count} times at each N, the servers in turn; the tables above show"
        " each measure's median over the rounds (full GCs: all of them), and these are the"
        " ratios round by round:",
        "",
        *rounds_table(rows),
        "",
    ]


def _compared(rows: list[dict[str, Any]]) -> bool:
    servers = {r["server"] for r in rows}
    return "ours" in servers and len(servers) > 1


def report_lines(results: dict[str, Any], plan: Plan) -> list[str]:
    """The WebSocket and server-sent events sections of the report."""
    lines: list[str] = []
    ws = [r for r in results["fanout"] if r["transport"] == "ws"]
    if ws:
        lines += [
            f"WebSocket fan-out: {plan.updates} updates of ~1.5 KB, {plan.interval:g} s apart;"
            " time from the publish call to the **last** reader's receipt (ours: POST, commit"
            " and render included); deliveries/s = N ÷ last-reader p50. The load client"
            " runs on its own core; its CPU per update, as a share of the last-reader time, is"
            " the most of that time the client itself could account for.",
            "",
            *fanout_table(ws),
            "",
        ]
        if _compared(ws):
            lines += ["Ours relative to the others (below 1x is better):", "", *ratio_table(ws), ""]
        lines += _rounds_lines(ws)
    sse = [r for r in results["fanout"] if r["transport"] == "sse"]
    if sse:
        lines += ["Server-sent events fan-out, same measures:", "", *fanout_table(sse), ""]
        if _compared(sse):
            lines += ["Ours relative to nchan:", "", *ratio_table(sse), ""]
        lines += _rounds_lines(sse)
    return lines
