"""The reconnect storm: N readers of one story lose their server at once and come back.

On SQLite the one `liveblog serve` gets SIGTERM and starts again on the same port and
database; on PostgreSQL + Redis with several workers, one worker gets SIGKILL (uvicorn starts
a new one). Entries keep being posted throughout, retried (with their Idempotency-Key) while
the server is down. Readers are bench/followers.py: they resume with `?after=` their last seq,
with the page's backoff and jitter. Measured: how many came back, the time until all were
back and until all had every entry, seqs lost or doubled (both must be 0), and the database
statements the storm cost (`liveblog_db_queries_total`)."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from bench.following import Followers
from bench.host import Pinning, log
from bench.metrics import Samples, value
from bench.ours import Ours
from bench.postgres import REDIS_URL, fresh_database
from bench.report import num
from bench.stats import percentile
from bench.workers import scrape_each

from scenarios.plan import StormPlan

QUERIES = "liveblog_db_queries_total"
UNPINNED = Pinning([], None, "unpinned")


async def storm(plan: StormPlan, workdir: Path, pin: Pinning) -> dict[str, Any]:
    """The storm on plan.backend, in a new folder workdir; the result row of the report."""
    await asyncio.to_thread(workdir.mkdir)
    if plan.backend != "postgres":
        return await _run(Ours(pin, workdir), plan, pin.client_cpu)
    async with fresh_database() as database_url:
        settings = {
            "LIVEBLOG_DATABASE_URL": database_url,
            "LIVEBLOG_BUS_URL": REDIS_URL,
            "LIVEBLOG_SECRET_KEY": secrets.token_urlsafe(32),
        }
        return await _run(Ours(UNPINNED, workdir, settings, plan.workers), plan, None)


class Poster:
    """Posts an entry every interval through the API, retrying each (same Idempotency-Key)
    until the server takes it, however long it is down."""

    def __init__(self, ours: Ours) -> None:
        headers = {"Authorization": f"Bearer {ours.token}"}
        self.http = httpx.AsyncClient(base_url=ours.base, headers=headers, timeout=10)
        self.slug = ours.slug
        self.posted = 0
        self.retries = 0
        self.stop = asyncio.Event()

    async def run(self, interval: float) -> None:
        while not self.stop.is_set():
            await self._post(f"Storm entry {self.posted + 1}: the river is still rising.")
            self.posted += 1
            await asyncio.sleep(interval)

    async def _post(self, body: str) -> None:
        key = str(uuid.uuid4())
        path = f"/api/stories/{self.slug}/entries"
        while True:
            try:
                response = await self.http.post(
                    path, json={"body": body}, headers={"Idempotency-Key": key}
                )
                if response.status_code in (200, 201):
                    return
                if response.status_code < 500:
                    raise RuntimeError(f"POST entry: {response.status_code} {response.text[:200]}")
            except httpx.TransportError:
                pass
            self.retries += 1
            await asyncio.sleep(0.1)

    async def story_seq(self) -> int:
        """The story's last seq, asked until the server answers."""
        while True:
            try:
                response = await self.http.get(f"/api/stories/{self.slug}")
                if response.status_code == 200:
                    return int(response.json()["seq"])
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        await self.http.aclose()


@dataclass
class Timeline:
    """Seconds from the disruption (SIGTERM or SIGKILL) to each milestone."""

    started: float = 0.0  # time.monotonic() at the signal
    exited: float | None = None  # until the old process had exited (SIGTERM only)
    down: float = 0.0  # until the server (or a replacement worker) answered again
    back: float | None = None  # until every reader that lost its connection had a new one
    caught_up: float | None = None  # until every reader had every entry
    # liveblog_db_queries_total of each process once the server answered again
    base_queries: dict[int, float] = field(default_factory=dict)


async def _run(ours: Ours, plan: StormPlan, cpu: int | None) -> dict[str, Any]:
    label = f"storm ({plan.backend}, {plan.workers} worker{'s' * (plan.workers > 1)})"
    log(f"{label}: {plan.readers:,} readers; making an editor and a token with the CLI")
    ours.make_editor()
    await ours.start()
    followers: Followers | None = None
    poster: Poster | None = None
    posting: asyncio.Task[None] | None = None
    try:
        idle = await _queries(ours)
        followers = Followers(plan.readers, cpu)
        path = f"/stories/{ours.slug}/live?after={{after}}&format=json"
        connected = await asyncio.to_thread(followers.follow, ours.port, path, ours.seq)
        log(f"{label}: {connected['ok']:,} readers connected in {connected['seconds']:.1f}s")
        with_readers = await _queries(ours)
        poster = Poster(ours)
        posting = asyncio.create_task(poster.run(plan.post_interval))
        await asyncio.sleep(plan.before)
        before, posts_before = await _queries(ours), poster.posted
        per_entry = _total(before, with_readers) / max(1, posts_before)
        dropped, timeline, posts_during = await _disrupt(
            ours, plan, followers, poster, label, before
        )
        final_seq = await poster.story_seq()
        await posting
        timeline.caught_up = await _wait_for(
            followers, "caught_up", plan.readers, final_seq, plan, timeline.started
        )
        after = await _queries(ours)
        tally = await asyncio.to_thread(followers.finish, final_seq)
    finally:
        if posting is not None and not posting.done():
            posting.cancel()
        if followers is not None:
            await asyncio.to_thread(followers.close)
        if poster is not None:
            await poster.close()
        await ours.stop()
    queries = {
        "connect": _total(with_readers, idle),
        "per_entry": per_entry,
        "storm": _total(after, timeline.base_queries),
        "posts_during": posts_during,
    }
    return _row(label, plan, connected, dropped, timeline, final_seq, tally, poster, queries)


async def _disrupt(
    ours: Ours,
    plan: StormPlan,
    followers: Followers,
    poster: Poster,
    label: str,
    before: dict[int, float],
) -> tuple[int, Timeline, int]:
    """SIGTERM and restart (one process) or SIGKILL one worker; wait until every reader that
    lost its connection has a new one, then stop posting. Returns how many lost it, the
    timeline so far and the entries posted from the disruption on."""
    timeline = Timeline()
    posted = poster.posted
    if plan.workers == 1:
        dropped = plan.readers
        log(f"{label}: SIGTERM, then start again on port {ours.port}")
        started = time.monotonic()
        await ours.stop()
        timeline.exited = time.monotonic() - started
        await ours.restart()
    else:
        per_worker = await scrape_each(ours.port, ours.worker_pids())
        victim = min(per_worker)
        dropped = int(value(per_worker[victim], "liveblog_readers") or 0)
        log(f"{label}: SIGKILL worker {victim}, which holds {dropped:,} readers")
        started = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        await _replaced(ours, victim, plan.workers)
    timeline.started = started
    timeline.down = time.monotonic() - started
    # The storm's statements: those of the restarted process from its start-up on, or the
    # surviving workers' from just before the kill plus all of the new worker's.
    timeline.base_queries = await _queries(ours) if plan.workers == 1 else before
    timeline.back = await _wait_for(followers, "back", dropped, 0, plan, started)
    poster.stop.set()
    log(f"{label}: down {timeline.down:.1f}s, every reader back after {timeline.back}s")
    return dropped, timeline, poster.posted - posted + 1


async def _replaced(ours: Ours, victim: int, workers: int) -> None:
    """Wait until uvicorn has started a worker in place of victim."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pids = ours.worker_pids()
        if len(pids) == workers and victim not in pids:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"no worker replaced {victim} within 60 s")


async def _wait_for(
    followers: Followers,
    measure: str,
    target: int,
    seq: int,
    plan: StormPlan,
    since: float,
) -> float | None:
    """Seconds from since (a time.monotonic()) until progress[measure] reaches target; None
    if it does not within plan.within plus a grace of 60 s (the page's longest backoff is
    45 s)."""
    while time.monotonic() - since < plan.within + 60:
        progress = await asyncio.to_thread(followers.progress, seq, 2)
        if progress[measure] >= target:
            return round(time.monotonic() - since, 2)
        await asyncio.sleep(0.1)
    return None


async def _queries(ours: Ours) -> dict[int, float]:
    """liveblog_db_queries_total of each server process, by pid."""
    if ours.workers == 1:
        samples: dict[int, Samples] = {ours.stats_pid: await ours.scrape()}
    else:
        samples = await scrape_each(ours.port, ours.worker_pids())
    return {pid: value(s, QUERIES) or 0.0 for pid, s in samples.items()}


def _total(after: dict[int, float], before: dict[int, float]) -> float:
    """Statements between two reads, over every process (a new process starts from 0)."""
    return sum(count - before.get(pid, 0.0) for pid, count in after.items())


def _row(
    label: str,
    plan: StormPlan,
    connected: dict[str, Any],
    dropped: int,
    timeline: Timeline,
    final_seq: int,
    tally: dict[str, Any],
    poster: Poster,
    queries: dict[str, float],
) -> dict[str, Any]:
    followers = tally["followers"]
    lost = sum(f["lost"] for f in followers)
    dups = sum(f["dups"] for f in followers)
    back = sum(f["opens"] >= 2 and f["connected"] for f in followers)
    returns = [f["opened_at"] - timeline.started for f in followers if f["opens"] >= 2]
    row = {
        "label": label,
        "backend": plan.backend,
        "workers": plan.workers,
        "readers": plan.readers,
        "connected": connected["ok"],
        "connect_seconds": round(connected["seconds"], 1),
        "dropped": dropped,
        "came_back": back,
        "exit_seconds": timeline.exited,
        "down_seconds": round(timeline.down, 2),
        "back_seconds": timeline.back,
        "back_p50_seconds": percentile(returns, 50),
        "back_p99_seconds": percentile(returns, 99),
        "never_back_attempts": sorted(f["attempt"] for f in followers if not f["connected"]),
        "caught_up_seconds": timeline.caught_up,
        "final_seq": final_seq,
        "entries_posted": poster.posted,
        "post_retries": poster.retries,
        "lost": lost,
        "doubled": dups,
        "readers_with_losses": [f for f in followers if f["lost"]][:5],
        "close_codes": tally["close_codes"],
        "failed_connects": tally["failures"],
        "queries_connect": queries["connect"],
        "queries_per_entry": queries["per_entry"],
        "queries_storm_total": queries["storm"],
        "entries_during_storm": queries["posts_during"],
        "within_seconds": plan.within,
        "post_interval": plan.post_interval,
    }
    row["ok"] = (
        connected["ok"] == plan.readers
        and back >= dropped
        and lost == 0
        and dups == 0
        and timeline.caught_up is not None
        and timeline.caught_up <= plan.within
    )
    log(
        f"{label}: {back:,}/{dropped:,} came back, all caught up after"
        f" {timeline.caught_up}s; lost {lost}, doubled {dups}; ok={row['ok']}"
    )
    return row


def report_lines(r: dict[str, Any]) -> list[str]:
    """The reconnect-storm section of the report."""
    how = (
        "the server gets SIGTERM and starts again on the same port and database"
        if r["workers"] == 1
        else f"one of {r['workers']} workers gets SIGKILL (uvicorn starts another)"
    )
    return [
        f"Reconnect storm ({r['backend']}): {r['readers']:,} WebSocket readers of one story;"
        f" {how} while an entry is posted every {r['post_interval']:g} s (retried while it is"
        " down);"
        " readers resume with `?after=` their last seq, with backoff and jitter. Times are from"
        " the signal; every reader must be back and have every entry within"
        f" {r['within_seconds']:g} s.",
        "",
        "| readers that lost the server | came back | server answering again (s) |"
        " back p50 / p99 / all (s) | all caught up (s) | seqs lost | seqs doubled |"
        " DB statements from the restart to all caught up (entries posted meanwhile ×"
        " statements per entry) | DB statements to connect them first |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        f"| {r['dropped']:,} | {r['came_back']:,} | {num(r['down_seconds'])} |"
        f" {num(r['back_p50_seconds'])} / {num(r['back_p99_seconds'])} /"
        f" {_seconds(r['back_seconds'])} | {_seconds(r['caught_up_seconds'])} | {r['lost']} |"
        f" {r['doubled']} | {num(r['queries_storm_total'], 0)} ({r['entries_during_storm']} ×"
        f" {num(r['queries_per_entry'])}) | {num(r['queries_connect'], 0)} |",
        "",
        *(
            [f"The old process took {r['exit_seconds']:.1f} s to exit after SIGTERM."]
            if r.get("exit_seconds") is not None
            else []
        ),
        f"{r['entries_posted']} entries posted ({r['post_retries']} retries while the server was"
        f" down), last seq {r['final_seq']}; close codes the readers saw:"
        f" {r['close_codes'] or '–'}; failed reconnect attempts: {r['failed_connects'] or '–'};"
        f" {'PASS' if r['ok'] else 'FAIL'}.",
        "",
    ]


def _seconds(value: float | None) -> str:
    return "**never**" if value is None else num(value)
