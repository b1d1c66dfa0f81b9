"""The benchmark's side of the followers (bench/followers.py): spread over load-client
processes, asked for their progress, told to churn, tallied at the end."""

from __future__ import annotations

import math
from typing import Any

from bench.clients import SOURCES, Clients
from bench.followers import follower_main

FOLLOWERS_PER_PROCESS = 2500


class Followers:
    """count followers of one story in as many processes as they need (per_process each:
    fewer where each message costs more, as in "log" mode)."""

    def __init__(
        self, count: int, cpu: int | None, per_process: int = FOLLOWERS_PER_PROCESS
    ) -> None:
        self.count = count
        processes = max(1, math.ceil(count / per_process))
        self.clients = Clients(processes, cpu, main=follower_main)
        self.shares = [count // processes + (i < count % processes) for i in range(processes)]

    def follow(self, port: int, path: str, after: int, keep_log: bool = False) -> dict[str, Any]:
        """Connect them all to path (a template with {after}), starting after seq after."""
        args = []
        first = 0
        for share in self.shares:
            args.append(
                {
                    "host": "127.0.0.1",
                    "port": port,
                    "path": path,
                    "count": share,
                    "sources": SOURCES,
                    "after": after,
                    "keep_log": keep_log,
                    "first": first,
                }
            )
            first += share
        answers = self.clients.ask_each("follow", args, timeout=600)
        return {
            "ok": sum(a["ok"] for a in answers),
            "failed": sum(a["failed"] for a in answers),
            "seconds": max(a["seconds"] for a in answers),
        }

    def progress(self, seq: int, opens: int = 1) -> dict[str, int]:
        """Followers connected, back (connected at least opens times), caught up to seq."""
        totals: dict[str, int] = {}
        for answer in self.clients.ask_all("progress", seq=seq, opens=opens):
            for key, value in answer.items():
                totals[key] = totals.get(key, 0) + value
        return totals

    def churn(self, low: float, high: float) -> None:
        """Each follower leaves and comes back every low..high seconds from now on."""
        self.clients.ask_all("churn", low=low, high=high)

    def finish(self, seq: int) -> dict[str, Any]:
        """Every follower's tally against the story's last seq, and the close codes seen."""
        followers: list[dict[str, Any]] = []
        close_codes: dict[int, int] = {}
        failures: dict[str, int] = {}
        for answer in self.clients.ask_all("finish", timeout=120, seq=seq):
            followers += answer["followers"]
            _add(close_codes, answer["close_codes"])
            _add(failures, answer["failures"])
        return {"followers": followers, "close_codes": close_codes, "failures": failures}

    def cpu(self) -> float:
        return self.clients.cpu()

    def close(self) -> None:
        self.clients.ask_all("leave")
        self.clients.close()


def _add(totals: dict[Any, int], counts: dict[Any, int]) -> None:
    for key, count in counts.items():
        totals[key] = totals.get(key, 0) + count
