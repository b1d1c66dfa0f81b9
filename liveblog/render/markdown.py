"""Markdown to sanitized HTML, rendered once when an entry is written."""

from __future__ import annotations

import html
import re
from importlib.util import find_spec

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

_LINKIFY = find_spec("linkify_it") is not None

# An attribution line: em dash, "--" or "---", then at least one space and a name.
_ATTRIBUTION_RE = re.compile(r"^(?:—|-{2,3})[ \t]+(\S.*)$")

# Markdown headings clamped into the allowed h2–h4 range (h1 belongs to the page).
_HEADING_TAGS = {"h1": "h2", "h5": "h4", "h6": "h4"}

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "strong", "em", "del", "s", "code", "pre", "blockquote", "cite",
        "footer", "ul", "ol", "li", "a", "h2", "h3", "h4", "hr", "table", "thead",
        "tbody", "tr", "th", "td", "img",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": frozenset({"href", "title"}), "img": frozenset({"src", "alt", "title"})}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"

SANITIZER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
    link_rel=LINK_REL,
    url_schemes=set(ALLOWED_URL_SCHEMES),
    strip_comments=True,
)
_TEXT_ONLY = nh3.Cleaner(tags=set(), attributes={})


def _block_end(tokens: list[Token], start: int) -> int:
    """Index of the token closing the block opened at ``start``."""
    opener = tokens[start]
    close_type = opener.type.removesuffix("_open") + "_close"
    for i in range(start + 1, len(tokens)):
        if tokens[i].type == close_type and tokens[i].level == opener.level:
            return i
    raise ValueError(f"unclosed {opener.type}")


def _footer_tokens(name: str, level: int) -> list[Token]:
    """Tokens for ``<footer>— <cite>name</cite></footer>``; inline content is parsed later."""
    footer_open = Token("footer_open", "footer", 1, level=level, block=True)
    dash = Token("inline", "", 0, level=level + 1, content="— ", children=[])
    cite_open = Token("cite_open", "cite", 1, level=level + 1)
    cite = Token("inline", "", 0, level=level + 1, content=name, children=[])
    cite_close = Token("cite_close", "cite", -1, level=level + 1)
    footer_close = Token("footer_close", "footer", -1, level=level, block=True)
    return [footer_open, dash, cite_open, cite, cite_close, footer_close]


def _attribute_quote(tokens: list[Token], start: int) -> None:
    """Turn a trailing attribution line of the blockquote at ``start`` into a footer."""
    end = _block_end(tokens, start)
    if end - start < 4 or tokens[end - 1].type != "paragraph_close":
        return
    inline = tokens[end - 2]
    if inline.level != tokens[start].level + 2:
        return  # the last paragraph belongs to a nested block, not to this quote
    body, _, last = inline.content.rpartition("\n")
    match = _ATTRIBUTION_RE.match(last.strip())
    if match is None:
        return
    footer = _footer_tokens(match.group(1).rstrip(), tokens[start].level + 1)
    if body.strip():
        inline.content = body.rstrip()
        tokens[end:end] = footer
    elif end - 3 > start + 1:
        tokens[end - 3 : end] = footer  # the attribution was a paragraph of its own
    # else: the quote is nothing but the attribution line; leave it as a plain quote


def _quote_attribution(state: StateCore) -> None:
    """Core rule: render ``> quote`` + ``> — Name`` as a blockquote with footer/cite."""
    # Walk backwards so splicing tokens never shifts a blockquote still to be visited.
    for i in range(len(state.tokens) - 1, -1, -1):
        if state.tokens[i].type == "blockquote_open":
            _attribute_quote(state.tokens, i)


def _clamp_headings(state: StateCore) -> None:
    """Core rule: map h1/h5/h6 onto the allowed h2–h4 so headings are not stripped."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = _HEADING_TAGS.get(token.tag, token.tag)


def _build_markdown() -> MarkdownIt:
    """CommonMark with tables and strikethrough, raw HTML escaped instead of passed."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": _LINKIFY})
    md.enable(["table", "strikethrough", *(["linkify"] if _LINKIFY else [])])
    md.core.ruler.before("inline", "quote_attribution", _quote_attribution)
    md.core.ruler.before("inline", "clamp_headings", _clamp_headings)
    return md


_MARKDOWN = _build_markdown()


def render_markdown(body: str) -> str:
    """Render reporter Markdown to sanitized HTML."""
    return SANITIZER.clean(_MARKDOWN.render(body)).strip()


def plain_text(html_fragment: str) -> str:
    """Strip all markup and collapse whitespace; the result is unescaped text."""
    text = html.unescape(_TEXT_ONLY.clean(html_fragment))
    return " ".join(text.split())


def images_without_alt(body: str) -> int:
    """How many images in the Markdown have no alt text (a description for screen readers)."""
    missing = 0
    for token in _MARKDOWN.parse(body):
        for child in token.children or ():
            if child.type == "image" and not child.content.strip():
                missing += 1
    return missing
