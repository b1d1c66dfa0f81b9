"""Fan-out at newsroom scale: our server beside the bare `websockets` floor and nchan.

    python benchmarks/fanout.py [--quick] [--readers 1000,5000,10000] [--updates K]
                                [--rounds R] [--no-nchan]
                                [--only ws,slow,sse,throughput,storm]
                                [--storm-backend sqlite|postgres] [--workers N]
                                [--throughput-backend sqlite|postgres]
                                [--throughput-readers N]
                                [--json out.json]

Each server runs in turn on loopback, pinned to one core (`taskset`), with the load client
(benchmarks/loadclient.py, separate processes, raw sockets) pinned to another:

- ours: `liveblog serve` on a fresh SQLite folder; readers take the story page's lean frames,
  `/stories/{slug}/live?after=SEQ&format=page`; an update is a POST of a ~1.5 KB entry through
  the API with an editor's token;
- the floor: benchmarks/floor_server.py, the `websockets` library's server and `broadcast()`;
- nchan: nginx with the nchan module, one worker (benchmarks/nchan.conf); installed with
  `apt-get install -y nginx-light libnginx-mod-nchan` when missing and possible.

Every update carries its send time; each reader records when it arrives. Per server and N it
prints the time from publish to the *last* reader (p50/p99/max over K updates), deliveries
per second, server and load-client CPU per update, server memory per idle reader and whether
every reader got every update. With `--rounds R` each server runs R times at each N, the
servers in turn, and the tables show each measure's median and every round's ratios. Then a
slow-reader scenario, SSE beside nchan's EventSource and publish throughput (with the
server's per-stage publish timings and database statements per entry, when it exports them),
and a Markdown table for the README. `--only storm` runs the reconnect storm instead
(scenarios/storm.py): 10,000 readers while the server restarts.

Each scenario is a module of benchmarks/scenarios/ around the shared core in
benchmarks/bench/ (servers, load clients, the machine, statistics). `--quick` (N=200, 5 updates, no
nchan, short scenarios) is what CI runs; it exits non-zero if any reader missed an update."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from bench.host import keep_logs, log, machine, pinning
from bench.nchan import Nchan, find_nchan
from bench.ours import Ours
from bench.postgres import fresh_database
from bench.report import opening
from bench.script import run_script
from bench.targets import Floor, Target
from scenarios import fanout as fanout_scenario
from scenarios import slow_readers as slow_scenario
from scenarios import storm as storm_scenario
from scenarios import throughput as throughput_scenario
from scenarios.plan import Plan, make_plan


def report(results: dict[str, Any], plan: Plan) -> str:
    """The whole report: the machine, the command, then each scenario that ran."""
    lines = [
        *opening("Fan-out benchmark", results, results["pinning"]),
        *fanout_scenario.report_lines(results, plan),
    ]
    if results.get("slow_readers"):
        lines += slow_scenario.report_lines(results["slow_readers"])
    if results.get("throughput"):
        lines += throughput_scenario.report_lines(results["throughput"])
    if results.get("storm"):
        lines += storm_scenario.report_lines(results["storm"])
    for skipped in results["skipped"]:
        lines.append(f"Skipped: {skipped}")
    return "\n".join(lines).rstrip() + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Fan-out benchmark: ours beside the websockets floor and nchan."
    )
    parser.add_argument("--quick", action="store_true", help="N=200, 5 updates, no nchan (CI)")
    parser.add_argument(
        "--readers",
        help="comma-separated reader counts (WebSocket 1000,5000,10000; SSE 5000,10000)",
    )
    parser.add_argument("--updates", type=int, help="updates per fan-out run (20)")
    parser.add_argument("--interval", type=float, help="seconds between updates (1.0)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="fan-out runs of each server at each N, the servers in turn; the tables show each"
        " measure's median and every round's ratios (1)",
    )
    parser.add_argument("--no-nchan", action="store_true", help="skip nchan")
    parser.add_argument("--no-install", action="store_true", help="never apt-get install nchan")
    parser.add_argument("--servers", default="ours,floor,nchan", help="which servers to run")
    parser.add_argument(
        "--only",
        help="scenarios to run, of ws,slow,sse,throughput,storm (default: all but storm)",
    )
    parser.add_argument("--writers", type=int, default=8, help="concurrent writers (8)")
    parser.add_argument(
        "--floor-asyncio", action="store_true", help="run the floor on plain asyncio, not uvloop"
    )
    parser.add_argument(
        "--storm-readers", type=int, help="readers in the reconnect storm (10000; --quick 500)"
    )
    backends = {
        "storm": "the storm's deployment: SQLite restarted with SIGTERM, or PostgreSQL + Redis"
        " with several workers, one killed with SIGKILL (sqlite)",
        "throughput": "the throughput scenario's database, one process either way (sqlite)",
    }
    for scenario, about in backends.items():
        parser.add_argument(
            f"--{scenario}-backend", choices=("sqlite", "postgres"), default="sqlite", help=about
        )
    parser.add_argument(
        "--workers", type=int, help="server worker processes in the storm (1; postgres 2)"
    )
    parser.add_argument(
        "--throughput-readers",
        type=int,
        help="readers connected while the writers post (1000; --quick 100; 0 for none)",
    )
    parser.add_argument("--json", help="also write every number to this JSON file")
    parser.add_argument("--logs", help="keep the servers' logs in this folder")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be 1 or more, not {args.rounds}")
    return args


async def run(args: argparse.Namespace, plan: Plan) -> dict[str, Any]:
    pin = pinning()
    log(f"fanout: {pin.note}")
    if pin.client_cpu is not None:
        os.sched_setaffinity(0, {pin.client_cpu})  # the publisher runs beside the load client
    results: dict[str, Any] = {
        "machine": machine(),
        "pinning": pin.note,
        "command": "python benchmarks/fanout.py " + " ".join(sys.argv[1:]),
        "plan": {k: sorted(v) if isinstance(v, set) else v for k, v in vars(plan).items()},
        "fanout": [],
        "skipped": [],
    }
    with tempfile.TemporaryDirectory(prefix="liveblog-fanout-") as tmp:
        try:
            await _scenarios(args, plan, pin, Path(tmp), results)
        finally:
            if args.logs:
                keep_logs(Path(tmp), Path(args.logs))
    return results


async def _scenarios(
    args: argparse.Namespace, plan: Plan, pin: Any, workdir: Path, results: dict[str, Any]
) -> None:
    """Run each scenario of the plan in turn, adding its numbers to results."""
    servers = set(args.servers.split(","))
    ours = Ours(pin, workdir)
    if plan.scenarios - {"storm"}:
        log("ours: making an editor and a token with the CLI")
        ours.make_editor()
    targets = _targets(args, plan, pin, workdir, ours, servers, results["skipped"])
    if "ws" in plan.scenarios:
        for readers in plan.readers:
            results["fanout"] += await _rounds(targets, readers, plan, pin, "ws")
    if "slow" in plan.scenarios and "ours" in servers:
        results["slow_readers"] = await slow_scenario.slow_readers(ours, plan, pin)
    if "sse" in plan.scenarios:
        for readers in plan.sse_readers:
            with_sse = [t for t in targets if t.has_sse]
            results["fanout"] += await _rounds(with_sse, readers, plan, pin, "sse")
    if "throughput" in plan.scenarios and "ours" in servers:
        results["throughput"] = await _throughput(plan, pin, workdir, ours)
    if "storm" in plan.scenarios:
        results["storm"] = await storm_scenario.storm(plan.storm, workdir / "storm", pin)


async def _rounds(
    targets: list[Target], readers: int, plan: Plan, pin: Any, kind: str
) -> list[dict[str, Any]]:
    """Each target's fan-out to N readers, plan.rounds times with the targets in turn (on a
    shared machine, neighbouring runs see the same conditions), as one row per target."""
    rows: dict[str, list[dict[str, Any]]] = {t.name: [] for t in targets}
    for _ in range(plan.rounds):
        for target in targets:
            rows[target.name].append(await fanout_scenario.fanout(target, readers, plan, pin, kind))
    return [fanout_scenario.combine_rounds(runs) for runs in rows.values()]


async def _throughput(plan: Plan, pin: Any, workdir: Path, ours: Ours) -> dict[str, Any]:
    """The throughput scenario on SQLite (ours as it is) or on a fresh PostgreSQL database."""
    if plan.throughput_backend == "sqlite":
        return await throughput_scenario.throughput(ours, plan, pin)
    async with fresh_database() as url:
        folder = workdir / "throughput-postgres"
        folder.mkdir()
        on_postgres = Ours(pin, folder, {"LIVEBLOG_DATABASE_URL": url})
        on_postgres.make_editor()
        return await throughput_scenario.throughput(on_postgres, plan, pin)


def _targets(
    args: argparse.Namespace,
    plan: Plan,
    pin: Any,
    workdir: Path,
    ours: Ours,
    servers: set[str],
    skipped: list[str],
) -> list[Target]:
    """The servers the fan-out scenarios compare, nchan only when it can be had."""
    floor = Floor(pin, workdir, plan.floor_asyncio)
    nchan: Nchan | None = None
    if not plan.scenarios & {"ws", "sse"}:
        return [ours]
    if plan.nchan and "nchan" in servers:
        found = find_nchan(install=not args.no_install)
        if isinstance(found, str):
            skipped.append(f"nchan: {found}")
            log(f"nchan skipped: {found}")
        else:
            nchan = Nchan(pin, workdir, *found)
    elif not plan.quick and "nchan" in servers:
        skipped.append("nchan: --no-nchan")
    return [t for t in (ours, floor, nchan) if t and t.name in servers]


def all_delivered(results: dict[str, Any]) -> bool:
    ok = all(r["every_reader_got_every_update"] for r in results["fanout"])
    slow = results.get("slow_readers")
    storm = results.get("storm")
    return ok and (slow is None or slow["normal_complete"]) and (storm is None or storm["ok"])


def conclude(plan: Plan, results: dict[str, Any]) -> tuple[str, str | None]:
    """The report, and why the run failed (None if it did not)."""
    results["every_reader_got_every_update"] = ok = all_delivered(results)
    return report(results, plan), None if ok else "some reader missed an update (see the table)"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_script(
        "fanout",
        args,
        make_plan,
        partial(run, args),
        conclude,
        open_files=lambda plan: max([*plan.readers, *plan.sse_readers]) + 100,
    )


if __name__ == "__main__":
    sys.exit(main())
