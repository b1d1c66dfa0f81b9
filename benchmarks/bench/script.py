"""What every benchmark script's main does around its own run: the plan, the open-file limit,
the clock, the report, the JSON file and the exit code."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from loadclient import raise_fd_limit

from bench.host import log

P = TypeVar("P")


def run_script(
    script: str,
    args: argparse.Namespace,
    make_plan: Callable[[argparse.Namespace], P],
    run: Callable[[P], Awaitable[dict[str, Any]]],
    conclude: Callable[[P, dict[str, Any]], tuple[str, str | None]],
    open_files: Callable[[P], int] = lambda plan: 0,
) -> int:
    """Run script's plan and report it; the exit code.

    make_plan may refuse the options with a ValueError (exit 1). run's results get the
    seconds it took; conclude(plan, results) gives the report, kept as results["markdown"],
    and why the run failed (exit 1), or None. open_files(plan) is how many descriptors the
    servers need: a limit under it is logged. With --json the results go to that file."""
    try:
        plan = make_plan(args)
    except ValueError as error:
        print(f"{script}.py: error: {error}", file=sys.stderr)
        return 1
    soft, needed = raise_fd_limit(), open_files(plan)
    if soft < needed:
        log(f"{script}: the open-file limit is {soft}; servers need about {needed}")
    started = time.monotonic()
    results = asyncio.run(run(plan))
    results["seconds"] = round(time.monotonic() - started, 1)
    results["markdown"], failure = conclude(plan, results)
    print(results["markdown"])
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")
    log(f"{script}: done in {results['seconds']:.0f}s")
    if failure:
        log(f"{script}: {failure}")
        return 1
    return 0
