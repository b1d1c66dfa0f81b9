"""Doorbells between processes: one small interface, one module per backend."""

from __future__ import annotations

from liveblog.errors import ConfigError
from liveblog.live.bus.base import Bus, Doorbell
from liveblog.live.bus.memory import MemoryBus

__all__ = ["Bus", "Doorbell", "MemoryBus", "open_bus"]


def open_bus(url: str) -> Bus:
    """The bus backend named by a LIVEBLOG_BUS_URL."""
    scheme = url.partition("://")[0].split("+", 1)[0]
    if scheme == "memory":
        return MemoryBus()
    if scheme in ("redis", "rediss", "unix"):
        from liveblog.live.bus.redis import RedisBus

        return RedisBus(url)
    if scheme in ("postgresql", "postgres"):
        from liveblog.live.bus.postgres import PostgresBus

        return PostgresBus(url)
    raise ConfigError(f"unsupported bus {url!r}; use memory://, redis://… or postgresql://…")
