"""Running a benchmark script to its end, as the tests of tests/benchmarks/ do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def run_benchmark(
    script: str, out: Path, *args: str, timeout: float, env: dict[str, str] | None = None
) -> dict:
    """Run benchmarks/SCRIPT ARGS --json OUT from the repository's root, with env added to
    ours; it must exit 0. The results it wrote to out."""
    run = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args, "--json", str(out)],
        cwd=BENCHMARKS.parent,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout}\n{run.stderr[-4000:]}"
    return json.loads(out.read_text())
