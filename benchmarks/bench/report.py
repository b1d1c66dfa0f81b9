"""Numbers as the reports print them, and the lines each report opens with."""

from __future__ import annotations

import math
from typing import Any


def opening(title: str, results: dict[str, Any], setup: str) -> list[str]:
    """What ran, where (results["machine"]), set up how, at which commit; the command."""
    m = results["machine"]
    return [
        f"{title}, {m['date']}: {m['nproc']} × {m['cpu']}, Linux {m['kernel']},"
        f" Python {m['python']}, websockets {m['websockets']}; {setup};"
        f" load average {m['load_average']} at the start; code {m['commit']}.",
        f"Command: `{results['command']}`",
        "",
    ]


def ms(value: float) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def num(value: float, digits: int = 1) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:,.{digits}f}"


def ratio(a: float, b: float) -> str:
    if not a or not b or math.isnan(a) or math.isnan(b):
        return "–"
    return f"{a / b:.2f}x"


def share(part: float, whole: float) -> str:
    if not whole or math.isnan(part) or math.isnan(whole):
        return "–"
    return f"{part / whole:.0%}"
