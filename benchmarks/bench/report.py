"""Numbers as the report prints them."""

from __future__ import annotations

import math


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
