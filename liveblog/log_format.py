"""How log lines look: plain text for people, or one JSON object per line for log collectors.

One logging configuration serves the whole process, uvicorn's loggers included; uvicorn applies
the same dictionary in every worker it starts, so workers log as their parent does."""

from __future__ import annotations

import logging
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# uvicorn adds a coloured copy of some messages; the message itself is enough.
_LEFT_OUT = (*RESERVED_ATTRS, "color_message")


def json_formatter() -> logging.Formatter:
    """Each record as {"timestamp", "level", "logger", "message", ...its extra fields}."""
    return JsonFormatter(
        ["levelname", "name", "message"],
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp=True,
        reserved_attrs=_LEFT_OUT,
    )


def logging_config(log_format: str) -> dict[str, Any]:
    """A logging.config.dictConfig dictionary: every logger at INFO and up to standard error
    in log_format (`plain` or `json`). Plain data only, so uvicorn can hand it to workers."""
    if log_format == "json":
        formatter: dict[str, Any] = {"()": f"{__name__}.json_formatter"}
    else:
        formatter = {"format": PLAIN_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"liveblog": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "liveblog",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "INFO", "handlers": ["stderr"]},
        # uvicorn's own loggers pass their records up to the root handler, like ours.
        "loggers": {
            name: {"level": "INFO", "handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
