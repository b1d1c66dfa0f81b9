"""How many live readers one process takes, and whether one more fits.

Every reader holds a socket, that is a file descriptor, for as long as it reads. A process out
of descriptors fails everyone at once: it can no longer accept the desk, the API or a health
check, nor open a database connection. So a process takes readers up to a limit and turns the
rest away at once (they come back later, with jitter); by default the limit is what the
open-file limit leaves after a reserve for everything else."""

from __future__ import annotations

import dataclasses
import logging
import resource
import sys
from contextlib import suppress

from liveblog.live.hub import Hub
from liveblog.settings import Settings

log = logging.getLogger("liveblog")

# Descriptors kept for what is not a reader: the database (a pool of connections, or SQLite's
# file, WAL and shared memory per connection), the bus, the listening socket, desk sockets,
# API and page requests in flight, media files being read or written, and readers still in
# their handshake. A tenth of the limit scales with busy machines; the floor of 256 keeps a
# small limit (1024 on many systems) from leaving the desk and the database nothing.
RESERVE_SHARE = 10
RESERVE_FLOOR = 256


def raise_open_file_limit() -> int:
    """Raise this process's soft open-file limit to its hard limit (where the system lets
    it); return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard and soft != resource.RLIM_INFINITY:
        # Where the system refuses (an unlimited hard limit on macOS), the soft one stays.
        with suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def readers_allowed(open_files: int) -> int:
    """Readers a process with this open-file limit can hold, keeping the reserve."""
    if open_files == resource.RLIM_INFINITY:
        return sys.maxsize
    reserve = max(open_files // RESERVE_SHARE, RESERVE_FLOOR)
    return max(open_files - reserve, open_files // 2)


def with_reader_limit(settings: Settings) -> Settings:
    """settings with max_readers in force: as configured, else (0) what the open-file limit,
    raised first, leaves for readers."""
    open_files = raise_open_file_limit()
    allowed = readers_allowed(open_files)
    if not settings.max_readers:
        return dataclasses.replace(settings, max_readers=allowed)
    if settings.max_readers > allowed:
        log.warning(
            "LIVEBLOG_MAX_READERS=%d is more than the open-file limit (%d) leaves for readers "
            "(%d): under a flood this process may run out of file descriptors",
            settings.max_readers,
            open_files,
            allowed,
        )
    return settings


def reader_admitted(hub: Hub, limit: int) -> bool:
    """Whether one more reader fits: the process serves fewer than limit readers (desk
    pages are not readers and never count)."""
    return hub.total_readers() < limit
