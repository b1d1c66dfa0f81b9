"""Unit tests for the Markdown renderer: XSS corpus, formatting, quote attribution."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from liveblog.render.markdown import SANITIZER, plain_text, render_markdown
from tests.render.xss_payloads import XSS_PAYLOADS

# The spec, written out independently of the implementation's constants.
SPEC_TAGS = {
    "p", "br", "strong", "em", "del", "s", "code", "pre", "blockquote", "cite", "footer",
    "ul", "ol", "li", "a", "h2", "h3", "h4", "hr", "table", "thead", "tbody", "tr", "th",
    "td", "img",
}  # fmt: skip
SPEC_ATTRS = {"a": {"href", "title", "rel"}, "img": {"src", "alt", "title"}}
FORBIDDEN_TAGS = {
    "script", "iframe", "object", "embed", "svg", "math", "style", "base", "meta", "form",
    "template", "noscript",
}  # fmt: skip
SAFE_SCHEMES = {"http", "https", "mailto"}
REL = "nofollow noopener noreferrer"

_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")


class _Elements(HTMLParser):
    """Collects every start tag, its attributes, and any comment or declaration."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.markup_other: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))

    def handle_comment(self, data: str) -> None:
        self.markup_other.append(f"comment {data!r}")

    def handle_decl(self, decl: str) -> None:
        self.markup_other.append(f"decl {decl!r}")

    def handle_pi(self, data: str) -> None:
        self.markup_other.append(f"pi {data!r}")

    def unknown_decl(self, data: str) -> None:
        self.markup_other.append(f"unknown decl {data!r}")


def parse(html: str) -> _Elements:
    """Parse an HTML fragment into its elements."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser


def url_is_safe(url: str) -> bool:
    """True if ``url`` is relative or uses an allowed scheme, as a browser would read it."""
    normalized = _CONTROL_OR_SPACE.sub("", url).lower()
    if normalized.startswith(("javascript:", "data:", "vbscript:")):
        return False
    scheme = _SCHEME.match(normalized)
    return scheme is None or scheme.group(1) in SAFE_SCHEMES


def assert_safe(html: str) -> None:
    """Assert the fragment holds only allow-listed, inert markup."""
    doc = parse(html)
    assert doc.markup_other == [], html
    for tag, attrs in doc.elements:
        assert tag not in FORBIDDEN_TAGS, html
        assert tag in SPEC_TAGS, html
        for name, value in attrs:
            assert not name.startswith("on"), html
            assert name != "style", html
            assert name in SPEC_ATTRS.get(tag, set()), html
            if name in ("href", "src"):
                assert url_is_safe(value or ""), html


def squash(html: str) -> str:
    """Drop the newlines markdown-it puts between block tags."""
    return re.sub(r">\n+<", "><", html)


def _payload_id(index: int, payload: str) -> str:
    """A readable, unique pytest id for a payload."""
    return f"{index:02d}-" + re.sub(r"[^a-z0-9]+", "-", payload.lower()).strip("-")[:40]


PAYLOAD_IDS = [_payload_id(i, p) for i, p in enumerate(XSS_PAYLOADS)]


def test_corpus_is_large_and_distinct() -> None:
    assert len(XSS_PAYLOADS) >= 45
    assert len(set(XSS_PAYLOADS)) == len(XSS_PAYLOADS)


@pytest.mark.parametrize("payload", XSS_PAYLOADS, ids=PAYLOAD_IDS)
def test_rendered_payload_is_inert(payload: str) -> None:
    assert_safe(render_markdown(payload))


@pytest.mark.parametrize("payload", XSS_PAYLOADS, ids=PAYLOAD_IDS)
def test_sanitizer_alone_neutralizes_payload(payload: str) -> None:
    # Defense in depth: the allow-list must hold even if markdown-it ever passed raw HTML.
    assert_safe(SANITIZER.clean(payload))


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("javascript:x", False),
        (" \x01Java\tScript:x", False),
        ("DATA:text/html,x", False),
        ("vbscript:x", False),
        ("ftp://x", False),
        ("https://x", True),
        ("mailto:a@b", True),
        ("/relative", True),
        ("java%0ascript:x", True),
    ],
)
def test_url_checker(url: str, safe: bool) -> None:
    assert url_is_safe(url) is safe


def test_assert_safe_catches_event_handler() -> None:
    with pytest.raises(AssertionError):
        assert_safe('<img src="x" onerror="x">')


# Markdown and the exact HTML it renders to.
RENDERED = [
    pytest.param("<b>hi</b>", "<p>&lt;b&gt;hi&lt;/b&gt;</p>", id="raw-html-is-escaped-as-text"),
    pytest.param("", "", id="empty-body"),
    pytest.param(
        "*em* **strong** ~~gone~~ `x < y`",
        "<p><em>em</em> <strong>strong</strong> <s>gone</s> <code>x &lt; y</code></p>",
        id="emphasis-and-inline-code",
    ),
    pytest.param(
        "```python\nif a < b:\n    pass\n```",
        "<pre><code>if a &lt; b:\n    pass\n</code></pre>",
        id="fenced-code-block-drops-language-class",
    ),
    pytest.param("    x = 1\n", "<pre><code>x = 1\n</code></pre>", id="indented-code-block"),
    pytest.param(
        '[site](https://example.com/ "The Title")',
        f'<p><a href="https://example.com/" title="The Title" rel="{REL}">site</a></p>',
        id="link-title-kept",
    ),
    pytest.param(
        '![Flooded street](https://cdn.example.com/f.jpg "Photo")',
        '<p><img src="https://cdn.example.com/f.jpg" alt="Flooded street" title="Photo"></p>',
        id="image-keeps-https-src-alt-and-title",
    ),
    pytest.param(
        "![a](http://cdn.example.com/f.png)",
        '<p><img src="http://cdn.example.com/f.png" alt="a"></p>',
        id="image-keeps-http-src",
    ),
    # markdown-it lets data:image/png through; the sanitizer's scheme list must drop it.
    pytest.param(
        "![dot](data:image/png;base64,iVBORw0KGgo=)",
        '<p><img alt="dot"></p>',
        id="data-image-loses-src",
    ),
]
# Markdown and the HTML of its blocks, the newlines between them aside (see squash).
RENDERED_BLOCKS = [
    pytest.param(
        "- one\n- two\n\n1. first\n2. second",
        "<ul><li>one</li><li>two</li></ul><ol><li>first</li><li>second</li></ol>",
        id="lists",
    ),
    pytest.param(
        "| a | b |\n|:-:|--:|\n| 1 | 2 |",
        "<table><thead><tr><th>a</th><th>b</th></tr></thead>"
        "<tbody><tr><td>1</td><td>2</td></tr></tbody></table>",
        id="table-without-alignment-styles",
    ),
    pytest.param("a  \nb\n\n---", "<p>a<br>\nb</p><hr>", id="horizontal-rule-and-hard-break"),
]


@pytest.mark.parametrize(("body", "html"), RENDERED)
def test_renders(body: str, html: str) -> None:
    assert render_markdown(body) == html


@pytest.mark.parametrize(("body", "html"), RENDERED_BLOCKS)
def test_renders_blocks(body: str, html: str) -> None:
    assert squash(render_markdown(body)) == html


@pytest.mark.parametrize(
    ("body", "href"),
    [
        ('[site](https://example.com/a "Title")', "https://example.com/a"),
        ("<https://example.com/x>", "https://example.com/x"),
        ("<reporter@example.com>", "mailto:reporter@example.com"),
        ("[rel](/stories/1)", "/stories/1"),
    ],
    ids=["inline", "autolink", "email-autolink", "relative"],
)
def test_links_get_exact_rel(body: str, href: str) -> None:
    [(tag, attrs)] = parse(render_markdown(body)).elements[1:]
    attributes = dict(attrs)
    assert tag == "a"
    assert attributes["href"] == href
    assert attributes["rel"] == REL


@pytest.mark.parametrize(
    ("level", "tag"),
    [(1, "h2"), (2, "h2"), (3, "h3"), (4, "h4"), (5, "h4"), (6, "h4")],
)
def test_headings_clamped_to_allowed_levels(level: int, tag: str) -> None:
    assert render_markdown("#" * level + " Update") == f"<{tag}>Update</{tag}>"


QUOTE = (
    "<blockquote><p>We will rebuild.</p><footer>— <cite>Mayor Jane Doe</cite></footer></blockquote>"
)


@pytest.mark.parametrize(
    "dash", ["— ", "-- ", "--- "], ids=["em-dash", "two-hyphens", "three-hyphens"]
)
def test_quote_with_attribution(dash: str) -> None:
    html = render_markdown(f"> We will rebuild.\n> {dash}Mayor Jane Doe")
    assert squash(html) == QUOTE


def test_quote_with_attribution_exact_newlines() -> None:
    html = render_markdown("> We will rebuild.\n> — Mayor Jane Doe")
    assert html == (
        "<blockquote>\n<p>We will rebuild.</p>\n"
        "<footer>— <cite>Mayor Jane Doe</cite></footer>\n</blockquote>"
    )


def test_attribution_in_its_own_paragraph() -> None:
    html = render_markdown("> We will rebuild.\n>\n> — Mayor Jane Doe")
    assert squash(html) == QUOTE


def test_multi_paragraph_quote_with_attribution() -> None:
    html = render_markdown("> First.\n>\n> We will rebuild.\n> -- Mayor Jane Doe")
    assert squash(html) == QUOTE.replace("<blockquote>", "<blockquote><p>First.</p>")


def test_nested_quote_attribution_binds_to_inner_quote() -> None:
    html = render_markdown("> Outer.\n>\n> > Inner.\n> > — Someone")
    assert squash(html) == (
        "<blockquote><p>Outer.</p><blockquote><p>Inner.</p>"
        "<footer>— <cite>Someone</cite></footer></blockquote></blockquote>"
    )


def test_blockquote_without_attribution_stays_plain() -> None:
    html = render_markdown("> We will rebuild.\n> Every street.")
    assert squash(html) == "<blockquote><p>We will rebuild.\nEvery street.</p></blockquote>"


@pytest.mark.parametrize(
    "body",
    [
        "> — Mayor Jane Doe",
        "> We will rebuild.\n> —Mayor Jane Doe",
        "> We will rebuild.\n> ---- Mayor Jane Doe",
        "> We will rebuild.\n> — ",
        "> — Mayor Jane Doe\n> We will rebuild.",
        "We will rebuild.\n— Mayor Jane Doe",
    ],
    ids=["only-attribution", "no-space", "four-hyphens", "no-name", "not-last", "no-quote"],
)
def test_non_attributions_get_no_footer(body: str) -> None:
    tags = {tag for tag, _ in parse(render_markdown(body)).elements}
    assert "footer" not in tags
    assert "cite" not in tags


def test_attribution_markup_stays_escaped() -> None:
    html = render_markdown("> Quote.\n> — Jane <b>Doe</b> <script>x()</script>")
    assert squash(html) == (
        "<blockquote><p>Quote.</p><footer>— <cite>Jane &lt;b&gt;Doe&lt;/b&gt; "
        "&lt;script&gt;x()&lt;/script&gt;</cite></footer></blockquote>"
    )
    assert [tag for tag, _ in parse(html).elements] == ["blockquote", "p", "footer", "cite"]


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Hello <strong>world</strong></p>", "Hello world"),
        ("<p>one</p>\n<p>two</p>\n\n  <ul>\n<li>three</li></ul>", "one two three"),
        ("<p>Tom &amp; Jerry &lt;3</p>", "Tom & Jerry <3"),
        ("<script>alert(1)</script><p>safe</p>", "safe"),
        ("", ""),
    ],
    ids=["tags", "whitespace", "entities", "script-dropped", "empty"],
)
def test_plain_text(html: str, text: str) -> None:
    assert plain_text(html) == text


def test_plain_text_of_rendered_quote() -> None:
    html = render_markdown("> We will rebuild.\n> — Mayor Jane Doe")
    assert plain_text(html) == "We will rebuild. — Mayor Jane Doe"


def test_render_is_pure() -> None:
    body = "> Quote.\n> — Name\n\n# Title"
    assert render_markdown(body) == render_markdown(body)
