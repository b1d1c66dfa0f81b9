"""The fan-out benchmark's quick mode runs end to end, so the benchmark never rots.

It measures; this test only checks that it ran, that every reader of every server got every
update, and that each number it reports is there and positive. It never asserts a speed."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.benchmarks.support import run_benchmark

TIMEOUT = 180

# Measures each fan-out row reports; all must be positive numbers.
FANOUT_MEASURES = (
    "last_p50_ms",
    "last_p99_ms",
    "last_max_ms",
    "delivery_p50_ms",
    "delivery_p99_ms",
    "deliveries_per_s",
    "client_cpu_ms_per_update",
    "rss_before_mib",
    "rss_after_mib",
    "kib_per_reader",
    "frame_bytes",
)

# Among the longest modules: started first, so parallel workers finish together.
pytestmark = pytest.mark.slow


def _positive(row: dict, key: str) -> None:
    value = row.get(key)
    assert isinstance(value, int | float), f"{key} missing from {row}"
    assert math.isfinite(value) and value > 0, f"{key} = {value!r} in {row}"


@pytest.mark.timeout(TIMEOUT + 30)
def test_quick_fanout_benchmark(tmp_path: Path) -> None:
    results = run_benchmark(
        "fanout.py", tmp_path / "fanout.json", "--quick", "--rounds", "2", timeout=TIMEOUT
    )

    assert results["every_reader_got_every_update"] is True
    rows = results["fanout"]
    assert {(r["server"], r["transport"]) for r in rows} >= {
        ("ours", "ws"),
        ("floor", "ws"),
        ("ours", "sse"),
    }
    for row in rows:
        assert row["every_reader_got_every_update"] is True, row
        assert row["connected"] == row["readers"] > 0, row
        assert row["readers_complete"] == row["readers"], row
        assert row["missing_deliveries"] == 0 and row["duplicates"] == 0, row
        assert row["updates"] > 0
        for key in FANOUT_MEASURES:
            _positive(row, key)
        # CPU is read in clock ticks: present and not negative, possibly 0 for a tiny run.
        assert row["server_cpu_ms_per_update"] >= 0
        # Two rounds, each server in turn: the row is their medians, and keeps each round.
        assert len(row["rounds"]) == 2, row
        p50s = sorted(r["last_p50_ms"] for r in row["rounds"])
        assert p50s[0] <= row["last_p50_ms"] <= p50s[1]

    slow = results["slow_readers"]
    assert slow["normal_complete"] is True
    assert slow["stalled_readers"] > 0 and slow["normal_readers"] > 0
    for phase in ("without", "with_stalled"):
        _positive(slow[phase], "delivery_p99_ms")
        _positive(slow[phase], "last_p99_ms")
    assert len(slow["rss_samples_mib"]) >= 2
    _positive(slow, "rss_max_mib")

    throughput = results["throughput"]
    assert throughput["entries"] > 0 and throughput["errors"] == 0
    for key in ("entries_per_s", "post_p50_ms", "post_p99_ms"):
        _positive(throughput, key)

    assert "| ours |" in results["markdown"] and "| floor |" in results["markdown"]
    assert "ratios round by round" in results["markdown"]
