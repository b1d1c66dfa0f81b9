"""The load-client processes (benchmarks/loadclient.py, or another worker main), driven over
pipes."""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from loadclient import worker_main

READERS_PER_PROCESS = 2500
SOURCES = [f"127.0.0.{i}" for i in range(2, 10)]  # loopback source addresses for readers


class Clients:
    """The load-client processes and their readers."""

    def __init__(
        self, processes: int, cpu: int | None, main: Callable[..., None] = worker_main
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.processes: list[Any] = []
        for _ in range(processes):
            ours, theirs = context.Pipe()
            process = context.Process(target=main, args=(theirs, cpu), daemon=True)
            process.start()
            theirs.close()
            self.pipes.append(ours)
            self.processes.append(process)
        self.connected: dict[str, int] = {}

    @staticmethod
    def for_readers(readers: int, cpu: int | None) -> Clients:
        return Clients(max(1, math.ceil(readers / READERS_PER_PROCESS)), cpu)

    def _ask(self, indexes: list[int], name: str, timeout: float, **args: Any) -> list[Any]:
        for i in indexes:
            self.pipes[i].send((name, args))
        return self._answers(indexes, name, timeout)

    def _answers(self, indexes: list[int], name: str, timeout: float) -> list[Any]:
        answers = []
        deadline = time.monotonic() + timeout
        for i in indexes:
            if not self.pipes[i].poll(max(0.0, deadline - time.monotonic())):
                raise RuntimeError(f"load client {i} did not answer {name} within {timeout}s")
            answer = self.pipes[i].recv()
            if "error" in answer:
                raise RuntimeError(f"load client {i} failed {name}: {answer['error']}")
            answers.append(answer)
        return answers

    def ask_all(self, name: str, timeout: float = 60.0, **args: Any) -> list[Any]:
        return self._ask(list(range(len(self.pipes))), name, timeout, **args)

    def ask_each(self, name: str, args: list[dict[str, Any]], timeout: float = 60.0) -> list[Any]:
        """Send command name to every process, each with its own arguments; their answers."""
        for pipe, own in zip(self.pipes, args, strict=True):
            pipe.send((name, own))
        return self._answers(list(range(len(self.pipes))), name, timeout)

    def connect(
        self,
        kind: str,
        port: int,
        path: str,
        readers: int,
        group: str = "normal",
        stalled: bool = False,
        processes: int | None = None,
    ) -> dict[str, Any]:
        """Open readers spread over the processes; returns counts and seconds taken."""
        used = min(processes or len(self.pipes), len(self.pipes))
        counts = [readers // used + (i < readers % used) for i in range(used)]
        for i, count in enumerate(counts):
            self.pipes[i].send(
                (
                    "connect",
                    {
                        "kind": kind,
                        "host": "127.0.0.1",
                        "port": port,
                        "path": path,
                        "count": count,
                        "sources": SOURCES,
                        "group": group,
                        "stalled": stalled,
                    },
                )
            )
        started = time.monotonic()
        ok = failed = 0
        errors: list[str] = []
        for i in range(used):
            if not self.pipes[i].poll(600):
                raise RuntimeError("load client did not finish connecting within 600 s")
            answer = self.pipes[i].recv()
            if "error" in answer:
                raise RuntimeError(f"load client {i} failed to connect: {answer['error']}")
            ok += answer["ok"]
            failed += answer["failed"]
            errors += answer["errors"]
        self.connected[group] = self.connected.get(group, 0) + ok
        return {
            "ok": ok,
            "failed": failed,
            "errors": errors[:5],
            "seconds": time.monotonic() - started,
        }

    def cpu(self) -> float:
        return sum(a["cpu"] for a in self.ask_all("cpu"))

    def counts(self, group: str, updates: list[int]) -> dict[int, int]:
        merged: dict[int, int] = dict.fromkeys(updates, 0)
        for answer in self.ask_all("counts", group=group, updates=updates):
            for update, count in answer["updates"].items():
                merged[update] += count
        return merged

    async def wait_delivered(self, group: str, updates: list[int], within: float) -> bool:
        """Wait until every connected reader of group has every update (at most within s)."""
        readers = self.connected.get(group, 0)
        pending = list(updates)
        deadline = time.monotonic() + within
        while pending:
            counts = self.counts(group, pending)
            pending = [u for u in pending if counts[u] < readers]
            if not pending:
                return True
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.1)
        return True

    def collect(self, group: str, expected: list[int]) -> dict[str, Any]:
        merged: dict[str, Any] = {
            "readers": 0,
            "complete": 0,
            "missing": 0,
            "dups": 0,
            "lost": 0,
            "frame_bytes": 0,
            "close_codes": {},
            "receipts": {u: [] for u in expected},
        }
        for answer in self.ask_all("collect", group=group, expected=expected):
            for key in ("readers", "complete", "missing", "dups", "lost"):
                merged[key] += answer[key]
            merged["frame_bytes"] = max(merged["frame_bytes"], answer["frame_bytes"])
            for code, count in answer["close_codes"].items():
                merged["close_codes"][code] = merged["close_codes"].get(code, 0) + count
            for update, times in answer["receipts"].items():
                merged["receipts"][update].extend(times)
        return merged

    def reset(self, group: str) -> None:
        self.ask_all("reset", group=group)

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(("close", {}))
        for pipe, process in zip(self.pipes, self.processes, strict=True):
            with contextlib.suppress(OSError, EOFError):
                if pipe.poll(30):
                    pipe.recv()
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join()
            pipe.close()
