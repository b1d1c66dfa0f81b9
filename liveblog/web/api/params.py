"""Parameters shared by several operations."""

from __future__ import annotations

from liveblog.web.api.common import MAX_ID, Param

SLUG = Param("slug", "path", {"type": "string", "pattern": "^[a-z0-9]+(?:-[a-z0-9]+)*$"})
ENTRY_ID = Param("entry_id", "path", {"type": "integer", "minimum": 0, "maximum": MAX_ID})
LIMIT = Param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 100}, "Page size")
BEFORE = Param(
    "before",
    "query",
    {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "Cursor: the `next` value of the previous page",
)
PAGE = (LIMIT, BEFORE)
AFTER = Param(
    "after",
    "query",
    {"type": "integer", "minimum": 0, "maximum": MAX_ID},
    "Return events with a greater seq",
)
IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "header",
    {"type": "string", "minLength": 1, "maxLength": 200},
    "A retry with the same key and body returns the first answer and writes nothing",
)
EVENT_LIMIT = Param(
    "limit", "query", {"type": "integer", "minimum": 1, "maximum": 500}, "Page size"
)
IF_NONE_MATCH = Param(
    "If-None-Match",
    "header",
    {"type": "string"},
    "The ETag of an earlier answer: 304 without a body when nothing happened since",
)
ETAG = Param("ETag", "header", {"type": "string"}, "Changes when the answer would change")
CACHE_CONTROL = Param("Cache-Control", "header", {"type": "string"}, "How long to reuse the answer")
