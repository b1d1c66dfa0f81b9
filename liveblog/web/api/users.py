"""/api/users and /api/tokens: users and their API tokens."""

from __future__ import annotations

from liveblog.web.api.common import Operation

OPERATIONS: tuple[Operation, ...] = ()
