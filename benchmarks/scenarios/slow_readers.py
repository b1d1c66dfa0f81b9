"""Slow readers: normal readers' latency with and without readers that never read, and the
server's memory while they stall."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.host import Pinning, log, rss_bytes, send_queues
from bench.ours import Ours
from bench.report import ms, num
from bench.stats import latency_summary
from bench.targets import publish_spaced, serving

from scenarios.plan import Plan


async def slow_readers(ours: Ours, plan: Plan, pin: Pinning) -> dict[str, Any]:
    """Normal readers' latency without stalled readers (before they come and after they go)
    and with them; the server's RSS while they stall."""
    normal, stalled = plan.slow_normal, plan.slow_stalled
    count = max(2, round(plan.slow_seconds / plan.slow_interval))
    log(
        f"slow readers: {normal} normal; {count // 2} updates, then {count} with {stalled}"
        f" stalled readers beside them, then {count - count // 2} without"
    )
    async with serving(ours, normal, pin) as clients:
        pid = ours.stats_pid
        connected = clients.connect("ws", ours.port, ours.ws_path(), normal)
        await asyncio.sleep(plan.settle)
        alone = await publish_spaced(ours, count // 2, plan.slow_interval)
        await clients.wait_delivered("normal", list(alone), plan.drain_timeout)
        # Stalled readers join at the story's current seq, so they too start live.
        await ours.after_warm_up()
        stuck = clients.connect("ws", ours.port, ours.ws_path(), stalled, "stalled", True, 1)
        samples: list[tuple[float, float]] = []
        started = time.monotonic()

        def sample() -> None:
            now = time.monotonic() - started
            if not samples or now - samples[-1][0] >= 1.0:
                samples.append((now, rss_bytes(pid) / 2**20))

        sample()
        beside = await publish_spaced(ours, count, plan.slow_interval, sample)
        await clients.wait_delivered("normal", list(beside), plan.drain_timeout)
        sample()
        stalled_peers = [
            a for r in clients.ask_all("addresses", group="stalled") for a in r["addresses"]
        ]
        queues = send_queues(ours.port)
        queued = sorted((queues[p] for p in stalled_peers if p in queues), reverse=True)
        stalled_result = clients.collect("stalled", list(beside))
        extra = await ours.extra_stats()
        clients.ask_all("drop", group="stalled")
        await asyncio.sleep(plan.slow_interval)
        alone.update(await publish_spaced(ours, count - count // 2, plan.slow_interval))
        await clients.wait_delivered("normal", list(alone), plan.drain_timeout)
        without = clients.collect("normal", list(alone))
        with_stalled = clients.collect("normal", list(beside))
    a, b = latency_summary(alone, without), latency_summary(beside, with_stalled)
    rss = [mib for _, mib in samples]
    half = samples[len(samples) // 2 :]
    slope = (half[-1][1] - half[0][1]) / (half[-1][0] - half[0][0]) if len(half) > 1 else 0.0
    complete = (
        without["complete"] == normal
        and with_stalled["complete"] == normal
        and connected["ok"] == normal
    )
    row = {
        "normal_readers": connected["ok"],
        "stalled_readers": stuck["ok"],
        "updates_with_stalled": count,
        "updates_without": len(alone),
        "interval_s": plan.slow_interval,
        "without": a,
        "with_stalled": b,
        "delivery_p99_change_pct": (b["delivery_p99_ms"] / a["delivery_p99_ms"] - 1) * 100,
        "last_p99_change_pct": (b["last_p99_ms"] / a["last_p99_ms"] - 1) * 100,
        "rss_samples_mib": [(round(t, 1), round(m, 2)) for t, m in samples],
        "rss_start_mib": rss[0],
        "rss_max_mib": max(rss),
        "rss_end_mib": rss[-1],
        "rss_slope_second_half_mib_per_min": slope * 60,
        "stalled_updates_received": sum(len(v) for v in stalled_result["receipts"].values()),
        "stalled_kernel_send_queue_kib": [round(q / 1024, 1) for q in queued],
        "stalled_kernel_send_queue_total_kib": round(sum(queued) / 1024, 1),
        "stalled_still_open": len(queued),
        "normal_complete": complete,
        **extra,
    }
    log(
        f"slow readers: normal delivery p99 {a['delivery_p99_ms']:.1f} -> "
        f"{b['delivery_p99_ms']:.1f} ms, RSS {rss[0]:.1f} -> max {max(rss):.1f} -> "
        f"{rss[-1]:.1f} MiB, complete={complete}"
    )
    return row


def report_lines(slow: dict[str, Any]) -> list[str]:
    """The slow-readers section of the report."""
    a, b = slow["without"], slow["with_stalled"]
    return [
        f"Slow readers (ours): {slow['normal_readers']:,} normal readers, then"
        f" {slow['stalled_readers']} more that never read: {slow['updates_without']}"
        f" updates without them (half before they come, half after they go) and"
        f" {slow['updates_with_stalled']} with them, {slow['interval_s']:g} s apart.",
        "",
        "| | normal readers' delivery p50 / p99 (ms) | last reader p50 / p99 (ms) |"
        " server RSS (MiB) |",
        "|---|--:|--:|--:|",
        f"| without stalled readers | {ms(a['delivery_p50_ms'])} / {ms(a['delivery_p99_ms'])}"
        f" | {ms(a['last_p50_ms'])} / {ms(a['last_p99_ms'])} | {num(slow['rss_start_mib'])} |",
        f"| with {slow['stalled_readers']} stalled | {ms(b['delivery_p50_ms'])} /"
        f" {ms(b['delivery_p99_ms'])} | {ms(b['last_p50_ms'])} / {ms(b['last_p99_ms'])} |"
        f" {num(slow['rss_start_mib'])} → max {num(slow['rss_max_mib'])} → end"
        f" {num(slow['rss_end_mib'])} |",
        "",
        f"Delivery p99 moved {slow['delivery_p99_change_pct']:+.0f}%; RSS slope over the"
        f" second half {slow['rss_slope_second_half_mib_per_min']:+.2f} MiB/min; stalled"
        f" readers still connected at the end: {slow['stalled_still_open']} (dropped as too"
        f" slow by the server's count: {slow.get('slow_readers_dropped', '–')}); unsent"
        f" bytes the kernel holds for them at the end:"
        f" {num(slow['stalled_kernel_send_queue_total_kib'])} KiB;"
        f" every normal reader got every update: {'yes' if slow['normal_complete'] else 'NO'}.",
        "",
    ]
