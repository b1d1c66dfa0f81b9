"""Waiting on a fact instead of a pause: the live readers a server counts for a story.

A reader the server counts has subscribed: whatever is posted after that reaches it as a live
frame from the hub, never in the replay of what it missed. So a live test first waits here,
then posts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import httpx

DEADLINE = 20.0


async def story_readers(bases: Sequence[str], slug: str) -> int:
    """The live readers of the story that the servers at bases count, together (the story
    JSON's "readers": each process counts its own)."""
    total = 0
    async with httpx.AsyncClient(timeout=DEADLINE) as client:
        for base in bases:
            response = await client.get(f"{base}/api/stories/{slug}")
            assert response.status_code == 200, response.text
            total += response.json()["readers"]
    return total


async def until_story_readers(
    bases: Sequence[str], slug: str, count: int, deadline: float = DEADLINE
) -> None:
    """Wait until the servers at bases count exactly count live readers of the story."""
    end = time.monotonic() + deadline
    while (seen := await story_readers(bases, slug)) != count:
        assert time.monotonic() < end, f"{seen} readers of {slug}, not {count}, after {deadline}s"
        await asyncio.sleep(0.05)
