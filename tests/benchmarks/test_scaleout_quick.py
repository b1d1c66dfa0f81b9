"""The scale-out benchmark's quick mode runs end to end, so the benchmark never rots.

It needs the machine's PostgreSQL and Redis (skipped without them, failed where CI requires
them). It checks only that the run finished and that every reader of every setup got every
entry; it never asserts a speed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from tests.benchmarks.support import run_benchmark
from tests.support import POSTGRES_ADMIN_URL, redis_url, skip_or_fail

# Among the longest modules: started first, so parallel workers finish together.
pytestmark = pytest.mark.slow

TIMEOUT = 240


async def _postgres_answers() -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    await connection.close()


@pytest.mark.timeout(TIMEOUT + 30)
def test_quick_scaleout_benchmark(tmp_path: Path) -> None:
    try:
        asyncio.run(_postgres_answers())
    except (OSError, asyncpg.PostgresError) as error:
        skip_or_fail("postgres", f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {error}")
    bus = redis_url()  # skips (or fails where required) when Redis is unreachable

    env = {"LIVEBLOG_BENCH_POSTGRES_URL": POSTGRES_ADMIN_URL, "LIVEBLOG_BENCH_REDIS_URL": bus}
    out = tmp_path / "scaleout.json"
    results = run_benchmark("scaleout.py", out, "--quick", timeout=TIMEOUT, env=env)

    assert results["every_reader_got_every_entry"] is True
    setups = results["setups"]
    assert [s["processes"] for s in setups] == [1, 2, 4]
    for setup in setups:
        assert setup["every_reader_got_every_entry"] is True, setup
        assert setup["connected"] == setup["readers"] > 0, setup
        assert setup["readers_complete"] == setup["readers"], setup
        assert setup["missing_deliveries"] == 0 and setup["duplicates"] == 0, setup
        assert setup["updates"] > 0 and setup["throughput_entries"] > 0, setup
        assert setup["post_errors"] == 0, setup
    assert "| 4 workers, PG+Redis |" in results["markdown"]
