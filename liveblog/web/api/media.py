"""/api/media: image uploads."""

from __future__ import annotations

from liveblog.web.api.common import Operation

OPERATIONS: tuple[Operation, ...] = ()
