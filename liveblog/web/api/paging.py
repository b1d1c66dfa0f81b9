"""Pages of lists: the ?limit= and ?before= of a request, and the page with the next cursor."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import Request

from liveblog.web.api.common import MAX_ID, int_query


def page_query(request: Request) -> tuple[int, int | None]:
    """A list's page size (?limit=, 20 unless given) and cursor (?before=, None for the first)."""
    limit = int_query(request, "limit", 20, 1, 100)
    return limit, int_query(request, "before", 0, 1, MAX_ID) or None


def page_json(rows: Sequence[Any], limit: int, item: Callable[[Any], object]) -> dict[str, object]:
    """A page of a list from up to limit + 1 rows: the items, and the next page's cursor
    (the last item's id) when there is one more row than the page holds."""
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
    return {"items": [item(row) for row in rows[:limit]], "next": next_cursor}
