"""Commands that write a folder of files (backups, archives) write it whole or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from liveblog.errors import ConfigError


def require_new_folder(destination: Path) -> None:
    """Refuse (ConfigError) a destination that exists, unless it is an empty folder."""
    if destination.is_dir() and not any(destination.iterdir()):
        return
    if destination.exists() or destination.is_symlink():
        raise ConfigError(f"{destination} already exists; name a new (or empty) folder")


@contextmanager
def new_folder(destination: Path) -> Iterator[Path]:
    """A private folder beside destination to fill; renamed to destination when the block
    ends without an error, removed otherwise, so a failure leaves nothing behind."""
    require_new_folder(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    draft = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        yield draft
        os.replace(draft, destination)  # also over an empty folder
    except BaseException:
        shutil.rmtree(draft, ignore_errors=True)
        raise
