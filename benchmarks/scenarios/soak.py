"""The soak: readers churning for minutes while a reporter posts, edits and retracts.

Every reader (bench/followers.py, "log" mode) reads the story from its first event, leaves
every churn_min..churn_max seconds and comes back with its last seq. At the end each
reader's log (every seq, in order, with each event's content, and the last state of every
entry) must equal the story's own log from the events API, whose entries must equal what
the entries API says now. Meanwhile the server's RSS and open file descriptors are sampled:
the RSS slope (a least-squares line, MiB per hour, over the samples after a warm-up) and the
descriptors left once the readers have gone are checked against thresholds."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from bench.followers import StoryLog, entry_digest
from bench.following import Followers
from bench.host import Pinning, log, open_fds, rss_bytes
from bench.ours import Ours
from bench.stats import slope

WARM_UP_SHARE = 0.2  # the first fifth of the samples is start-up, not a trend
JUDGED_MINUTES = 10.0  # an RSS slope over a shorter window is reported, not judged
LOG_FOLLOWERS_PER_PROCESS = 250
SOCKET_MARGIN = 2  # sockets the server may hold beyond its idle count once readers leave


@dataclass
class SoakPlan:
    minutes: float
    readers: int
    rate: float  # story changes per second
    churn_min: float
    churn_max: float
    sample_every: float
    rss_limit: float  # MiB per hour


@dataclass
class Reporter:
    """Posts, edits and retracts through the JSON API at a steady rate."""

    http: httpx.AsyncClient
    slug: str
    live: list[int] = field(default_factory=list)  # entries not retracted
    counts: dict[str, int] = field(default_factory=lambda: {"post": 0, "edit": 0, "retract": 0})
    errors: list[str] = field(default_factory=list)

    async def run(self, rate: float, seconds: float) -> None:
        start = time.monotonic()
        for i in range(int(rate * seconds)):
            await self.change()
            await asyncio.sleep(max(0.0, start + (i + 1) / rate - time.monotonic()))

    async def change(self) -> None:
        roll = random.random()
        if roll < 0.7 or len(self.live) < 5:
            await self._do("post", self._post())
        elif roll < 0.9:
            await self._do("edit", self._edit(random.choice(self.live)))
        else:
            entry = self.live.pop(random.randrange(len(self.live)))
            await self._do("retract", self._retract(entry))

    async def _do(self, kind: str, request: Any) -> None:
        try:
            response = await request
        except httpx.HTTPError as error:
            self.errors.append(f"{kind}: {type(error).__name__}: {error}")
            return
        if response.status_code >= 300:
            self.errors.append(f"{kind}: {response.status_code} {response.text[:200]}")
            return
        self.counts[kind] += 1
        if kind == "post":
            self.live.append(response.json()["id"])

    def _post(self) -> Any:
        body = f"Update {self.counts['post'] + 1}: crews are still at the bridge. {uuid.uuid4()}"
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        url = f"/api/stories/{self.slug}/entries"
        return self.http.post(url, json={"body": body}, headers=headers)

    def _edit(self, entry: int) -> Any:
        body = f"Corrected: the water fell back by evening. {uuid.uuid4()}"
        return self.http.patch(f"/api/stories/{self.slug}/entries/{entry}", json={"body": body})

    def _retract(self, entry: int) -> Any:
        url = f"/api/stories/{self.slug}/entries/{entry}"
        return self.http.request("DELETE", url, json={"reason": "Not confirmed"})


async def soak(plan: SoakPlan, workdir: Path, pin: Pinning) -> dict[str, Any]:
    """Run the soak against a fresh `liveblog serve` on SQLite; the result row."""
    ours = Ours(pin, workdir)
    log(f"soak: {plan.readers:,} readers for {plan.minutes:g} min; making an editor")
    ours.make_editor()
    await ours.start()
    followers: Followers | None = None
    try:
        assert ours.http is not None
        pid = ours.stats_pid
        idle_fds = open_fds(pid)
        # Each message is parsed and digested: spread the readers over processes free to use
        # any core, so that they keep up even on a busy machine.
        followers = Followers(plan.readers, None, per_process=LOG_FOLLOWERS_PER_PROCESS)
        path = f"/stories/{ours.slug}/live?after={{after}}&format=json"
        connected = await asyncio.to_thread(followers.follow, ours.port, path, 0, True)
        log(f"soak: {connected['ok']:,} readers connected in {connected['seconds']:.1f}s")
        await asyncio.to_thread(followers.churn, plan.churn_min, plan.churn_max)
        reporter = Reporter(ours.http, ours.slug)
        samples = await _while_sampling(pid, plan, reporter.run(plan.rate, plan.minutes * 60))
        story = await _story_log(ours.http, ours.slug)
        caught_up = await _caught_up(followers, story["last_seq"])
        tally = await asyncio.to_thread(followers.finish, story["last_seq"])
        await asyncio.to_thread(followers.close)
        followers = None
        await ours.http.aclose()  # its keep-alive connections are no reader's
        ours.http = None
        fds_after = await _fds_settled(pid, idle_fds[1] + SOCKET_MARGIN)
    finally:
        if followers is not None:
            await asyncio.to_thread(followers.close)
        await ours.stop()
    return _row(plan, connected, reporter, story, caught_up, tally, samples, idle_fds, fds_after)


async def _while_sampling(pid: int, plan: SoakPlan, work: Any) -> list[tuple[float, float, int]]:
    """Run work, sampling (seconds, RSS MiB, open fds) of pid every plan.sample_every."""
    samples: list[tuple[float, float, int]] = []
    task = asyncio.ensure_future(work)
    start = time.monotonic()
    while not task.done():
        samples.append((time.monotonic() - start, rss_bytes(pid) / 2**20, open_fds(pid)[0]))
        await asyncio.wait([task], timeout=plan.sample_every)
        if len(samples) % 30 == 0:
            log(f"soak: {samples[-1][0] / 60:.1f} min, RSS {samples[-1][1]:.1f} MiB")
    await task
    return samples


async def _story_log(http: httpx.AsyncClient, slug: str) -> dict[str, Any]:
    """The story's log from the events API, page by page, and its entries now."""
    story = StoryLog()
    after, last_seq, events = 0, -1, 0
    while after != last_seq:
        page = (await http.get(f"/api/stories/{slug}/events", params={"after": after})).json()
        for event in page["items"]:
            story.add(event)
            after = event["seq"]
            events += 1
        last_seq = page["last_seq"]
        if not page["items"]:
            break
    entries = await _entries(http, slug)
    mismatched = [i for i, e in entries.items() if story.entries.get(i) != entry_digest(e)]
    mismatched += [i for i in story.entries if i not in entries]
    return {"last_seq": last_seq, "events": events, **story.summary(), "mismatched": mismatched}


async def _entries(http: httpx.AsyncClient, slug: str) -> dict[int, dict[str, Any]]:
    entries: dict[int, dict[str, Any]] = {}
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = (await http.get(f"/api/stories/{slug}/entries", params=params)).json()
        entries.update({e["id"]: e for e in page["items"]})
        if not page.get("next"):
            return entries
        params["before"] = page["next"]


async def _caught_up(followers: Followers, seq: int, within: float = 60.0) -> float | None:
    """Seconds until every reader has every event up to seq (None: not within)."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        progress = await asyncio.to_thread(followers.progress, seq)
        if progress["caught_up"] >= followers.count:
            return round(time.monotonic() - start, 2)
        await asyncio.sleep(0.2)
    return None


async def _fds_settled(pid: int, sockets: int, within: float = 15.0) -> tuple[int, int]:
    """The server's (open descriptors, sockets) once its sockets fall to sockets (or after
    within seconds)."""
    deadline = time.monotonic() + within
    count = open_fds(pid)
    while count[1] > sockets and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        count = open_fds(pid)
    return count


def _row(
    plan: SoakPlan,
    connected: dict[str, Any],
    reporter: Reporter,
    story: dict[str, Any],
    caught_up: float | None,
    tally: dict[str, Any],
    samples: list[tuple[float, float, int]],
    idle_fds: tuple[int, int],
    fds_after: tuple[int, int],
) -> dict[str, Any]:
    readers = tally["followers"]
    differ = [r for r in readers if (r["log"], r["entries"]) != (story["log"], story["entries"])]
    lost, dups = sum(r["lost"] for r in readers), sum(r["dups"] for r in readers)
    trend = samples[int(len(samples) * WARM_UP_SHARE) :]
    window = (trend[-1][0] - trend[0][0]) / 60 if len(trend) > 1 else 0.0
    rss_slope = slope([(t / 3600, mib) for t, mib, _ in trend])
    # A step (a burst's high-water mark) and a steady climb fit the same line; the last
    # half's own slope tells them apart.
    late_slope = slope([(t / 3600, mib) for t, mib, _ in samples[len(samples) // 2 :]])
    logs_ok = connected["ok"] == plan.readers and not differ and not lost and not dups
    logs_ok = logs_ok and not story["mismatched"] and not reporter.errors
    rss_judged = window >= JUDGED_MINUTES
    row = {
        "minutes": plan.minutes,
        "readers": plan.readers,
        "connected": connected["ok"],
        "rate": plan.rate,
        "churn_seconds": [plan.churn_min, plan.churn_max],
        "changes": reporter.counts,
        "errors": len(reporter.errors),
        "first_errors": reporter.errors[:3],
        "events": story["events"],
        "last_seq": story["last_seq"],
        "reconnects": sum(r["opens"] - 1 for r in readers),
        "caught_up_seconds": caught_up,
        "readers_whose_log_differs": len(differ),
        "first_differing": differ[:3],
        "lost": lost,
        "doubled": dups,
        "entries_unlike_the_api": story["mismatched"][:10],
        "close_codes": tally["close_codes"],
        "failed_connects": tally["failures"],
        "logs_ok": logs_ok,
        "rss_samples_mib": [(round(t), round(m, 2)) for t, m, _ in samples],
        "rss_start_mib": samples[0][1],
        "rss_end_mib": samples[-1][1],
        "rss_slope_mib_per_hour": rss_slope,
        "rss_slope_last_half_mib_per_hour": late_slope,
        "rss_window_minutes": round(window, 1),
        "rss_limit_mib_per_hour": plan.rss_limit,
        "rss_ok": rss_slope <= plan.rss_limit if rss_judged else None,
        "fds_idle": idle_fds[0],
        "sockets_idle": idle_fds[1],
        "fds_min": min(f for _, _, f in samples),
        "fds_max": max(f for _, _, f in samples),
        "fds_after_readers_left": fds_after[0],
        "sockets_after_readers_left": fds_after[1],
        "fds_ok": fds_after[1] <= idle_fds[1] + SOCKET_MARGIN,
    }
    row["ok"] = logs_ok and row["fds_ok"] and row["rss_ok"] is not False
    return row


def report_lines(r: dict[str, Any]) -> list[str]:
    """The soak's report: what ran, then each check with PASS or FAIL."""
    c = r["changes"]
    rss = r["rss_ok"]
    rss_verdict = "PASS" if rss else "FAIL" if rss is False else "not judged"
    return [
        f"Soak: {r['minutes']:g} min, {r['connected']:,}/{r['readers']:,} readers churning"
        f" (each leaves every {r['churn_seconds'][0]:g}–{r['churn_seconds'][1]:g} s and resumes"
        f" with its last seq; {r['reconnects']:,} reconnects in all), {r['rate']:g} changes/s:"
        f" {c['post']:,} posts, {c['edit']:,} edits, {c['retract']:,} retractions,"
        f" {r['errors']} errors; {r['events']:,} events, last seq {r['last_seq']:,}.",
        "",
        f"- Readers' logs: {r['readers_whose_log_differs']} differ from the story's log;"
        f" seqs lost {r['lost']}, doubled {r['doubled']}; entries unlike the entries API:"
        f" {len(r['entries_unlike_the_api'])}; all caught up"
        f" {r['caught_up_seconds']} s after the last change: {'PASS' if r['logs_ok'] else 'FAIL'}",
        f"- RSS: {r['rss_start_mib']:.1f} → {r['rss_end_mib']:.1f} MiB, slope"
        f" {r['rss_slope_mib_per_hour']:+.1f} MiB/h over the last {r['rss_window_minutes']:g}"
        f" min (limit {r['rss_limit_mib_per_hour']:g} MiB/h, judged over"
        f" {JUDGED_MINUTES:g} min or more): {rss_verdict}; over the last half alone"
        f" {r['rss_slope_last_half_mib_per_hour']:+.1f} MiB/h",
        f"- Open files: {r['fds_idle']} idle ({r['sockets_idle']} sockets),"
        f" {r['fds_min']}–{r['fds_max']} with readers, {r['fds_after_readers_left']}"
        f" ({r['sockets_after_readers_left']} sockets) once they and the reporter's"
        f" connections left; sockets may be at most idle + {SOCKET_MARGIN}, the rest is the"
        f" database's pool: {'PASS' if r['fds_ok'] else 'FAIL'}",
        f"- Close codes the readers saw: {r['close_codes'] or '–'}; failed reconnect attempts:"
        f" {r['failed_connects'] or '–'}",
        "",
        f"Soak: {'PASS' if r['ok'] else 'FAIL'}",
    ]
