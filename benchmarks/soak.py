"""Soak: readers churning for minutes while a reporter posts, edits and retracts.

    python benchmarks/soak.py [--minutes 60] [--readers 1000] [--rate 5]
                              [--churn-min 30] [--churn-max 120] [--json out.json]

One `liveblog serve` on a fresh SQLite folder, pinned to one core (as in fanout.py); the
readers run in load-client processes of 250, free to use any core. --readers WebSocket
readers (`?format=json`) read the story from its first event; each leaves every
--churn-min..--churn-max seconds (at random) and resumes with `?after=` its last seq, with
the page's backoff and jitter when a try fails. A reporter
makes --rate changes a second through the JSON API with an editor's token: 70% new entries,
20% edits, 10% retractions. At the end every reader's log (each seq once, in order, with
each event's content, and the last state of every entry) must equal the story's log from
`GET /api/stories/{slug}/events`, whose entries must equal the entries API. The server's
RSS slope (MiB per hour, least squares over the samples after the first fifth) and its open
file descriptors (/proc/PID/fd) once the readers have left are checked against limits. The
scenario is benchmarks/scenarios/soak.py; it exits 1 if any check fails."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.host import keep_logs, log, machine, pinning
from bench.report import opening
from bench.script import run_script
from scenarios.soak import SoakPlan, report_lines, soak


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Soak: churning readers, posts, edits and retractions; logs must match."
    )
    parser.add_argument("--minutes", type=float, default=60.0, help="how long to post (60)")
    parser.add_argument("--readers", type=int, default=1000, help="readers (1000)")
    parser.add_argument("--rate", type=float, default=5.0, help="story changes a second (5)")
    parser.add_argument(
        "--churn-min", type=float, default=30.0, help="shortest stay of a reader, s (30)"
    )
    parser.add_argument(
        "--churn-max", type=float, default=120.0, help="longest stay of a reader, s (120)"
    )
    parser.add_argument(
        "--rss-limit", type=float, default=10.0, help="largest RSS slope that passes, MiB/h (10)"
    )
    parser.add_argument("--json", help="also write every number to this JSON file")
    parser.add_argument("--logs", help="keep the server's log in this folder")
    return parser.parse_args(argv)


def make_plan(args: argparse.Namespace) -> SoakPlan:
    """The plan, or ValueError naming the option that is out of range."""
    if args.minutes <= 0 or args.readers < 1 or args.rate <= 0:
        raise ValueError("--minutes, --readers and --rate must be positive")
    if not 0 < args.churn_min <= args.churn_max:
        raise ValueError("--churn-min must be positive and at most --churn-max")
    return SoakPlan(
        minutes=args.minutes,
        readers=args.readers,
        rate=args.rate,
        churn_min=args.churn_min,
        churn_max=args.churn_max,
        sample_every=min(10.0, max(1.0, args.minutes * 60 / 100)),
        rss_limit=args.rss_limit,
    )


async def run(plan: SoakPlan, logs: str | None) -> dict:
    pin = pinning()
    log(f"soak: {pin.note.split(',')[0]}; readers on any core")
    with tempfile.TemporaryDirectory(prefix="liveblog-soak-") as tmp:
        try:
            row = await soak(plan, Path(tmp), pin)
        finally:
            if logs:
                keep_logs(Path(tmp), Path(logs))
    return {
        "machine": machine(),
        "pinning": pin.note,
        "command": "python benchmarks/soak.py " + " ".join(sys.argv[1:]),
        "soak": row,
    }


def conclude(plan: SoakPlan, results: dict) -> tuple[str, str | None]:
    """The report, and why the run failed (None if it did not)."""
    setup = f"{results['pinning'].split(',')[0]}, readers on any core"
    text = "\n".join([*opening("Soak", results, setup), *report_lines(results["soak"])])
    return text, None if results["soak"]["ok"] else "a check failed (see the report)"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_script("soak", args, make_plan, lambda plan: run(plan, args.logs), conclude)


if __name__ == "__main__":
    sys.exit(main())
