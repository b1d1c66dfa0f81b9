"""The Jinja2 environment: one for pages, htmx swaps and live pushes alike."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

_PACKAGE = Path(__file__).resolve().parent.parent


def asset_dir(name: str) -> Path:
    """templates/ or static/: inside an installed wheel, or at the top of a source checkout."""
    shipped = _PACKAGE / name
    return shipped if shipped.is_dir() else _PACKAGE.parent / name


def template_environment() -> Environment:
    """The environment that renders every page and fragment, autoescaping HTML."""
    env = Environment(
        loader=FileSystemLoader(asset_dir("templates")),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
        enable_async=False,
    )
    env.filters["clock"] = _clock
    env.filters["datestamp"] = _datestamp
    return env


def _parse(value: str | datetime) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _clock(value: str | datetime) -> str:
    return _parse(value).strftime("%H:%M")


def _datestamp(value: str | datetime) -> str:
    return _parse(value).strftime("%-d %b %Y, %H:%M UTC")
