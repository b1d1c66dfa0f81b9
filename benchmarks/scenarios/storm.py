"""The reconnect storm (being written)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scenarios.plan import StormPlan


async def storm(plan: StormPlan, workdir: Path) -> dict[str, Any]:
    raise NotImplementedError


def report_lines(result: dict[str, Any]) -> list[str]:
    return []
