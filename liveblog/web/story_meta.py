"""What a story page tells search engines and social cards: canonical URL, Open Graph and
Twitter tags, and LiveBlogPosting JSON-LD with its latest updates."""

from __future__ import annotations

import json
from collections.abc import Sequence

from liveblog.render.markdown import plain_text

UPDATES_IN_JSON_LD = 20
HEADLINE_CHARS = 110


def entry_headline(entry: dict[str, object]) -> str:
    """A short headline for an entry: its title, its key-event headline, or its first words."""
    for name in ("title", "headline"):
        if entry.get(name):
            return str(entry[name])
    text = plain_text(str(entry.get("html", "")))
    return text if len(text) <= HEADLINE_CHARS else text[: HEADLINE_CHARS - 1].rstrip() + "…"


def json_ld(story: dict[str, object], entries: Sequence[dict[str, object]], base: str) -> str:
    """The LiveBlogPosting JSON-LD of a story, safe to put inside a <script> element."""
    url = f"{base}{story['url']}"
    posting: dict[str, object] = {
        "@context": "https://schema.org",
        "@type": "LiveBlogPosting",
        "@id": url,
        "url": url,
        "headline": story["title"],
        "description": story["description"] or story["title"],
        "coverageStartTime": story["started_at"],
        "datePublished": story["started_at"],
        "publisher": {"@type": "Organization", "name": "Liveblog"},
        "liveBlogUpdate": [
            _update(entry, url) for entry in entries[:UPDATES_IN_JSON_LD] if not entry["retracted"]
        ],
    }
    if story["status"] == "ended":
        posting["coverageEndTime"] = story["ended_at"]
    latest = [str(entry["updated_at"]) for entry in entries]
    if latest:
        posting["dateModified"] = max(latest)
    # "</script>" inside a string would end the element early; \u003c is the same JSON.
    return json.dumps(posting, ensure_ascii=False).replace("<", "\\u003c")


def _update(entry: dict[str, object], story_url: str) -> dict[str, object]:
    return {
        "@type": "BlogPosting",
        "headline": entry_headline(entry),
        "url": f"{story_url}/entries/{entry['id']}",
        "datePublished": entry["shown_at"],
        "dateModified": entry["updated_at"],
        "articleBody": plain_text(str(entry["html"])),
        "author": {"@type": "Person", "name": entry["author"]},
    }
