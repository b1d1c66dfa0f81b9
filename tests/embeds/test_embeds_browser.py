"""Embeds on another site, in Chromium: a news page served from a different origin holds the
oEmbed iframe snippet and the script tag; both show the story and update live, the iframe
grows with its content, the host's styles stay out of the script embed's shadow root, the
script embed resumes after a disconnect, and only the embed page may be framed."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import FrameLocator, Locator, Page, expect

from tests.browser import assert_accessible, save_screenshot
from tests.embeds.host_site import HostSite, news_page, serve_folder, stop_site
from tests.live.readers import post
from tests.support import LiveServer

# Among the longest modules: started first, so parallel workers finish together.
# What pages show, on SQLite only (see pytest_generate_tests in conftest.py).
pytestmark = [pytest.mark.slow, pytest.mark.backends("sqlite")]

DEADLINE_MS = 20_000
RESUME_DEADLINE_MS = 60_000
WIDE = {"width": 1280, "height": 900}
HOSTILE_CSS = """
li { color: rgb(255, 0, 0) !important; font-size: 40px !important; }
* { font-family: "Comic Sans MS", cursive !important; background: yellow !important; }
div { color: rgb(255, 0, 0); line-height: 3; }
"""


@pytest.fixture(scope="module")
def host_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostSite]:
    """The other site: its own server, so its own origin."""
    site, httpd, thread = serve_folder(tmp_path_factory.mktemp("host-site"))
    yield site
    stop_site(httpd, thread)


@pytest.fixture(scope="module")
def author(server: LiveServer) -> Iterator[httpx.Client]:
    """A reporter with a byline fit for the screenshots, made before any browser opens."""
    _, token = server.deployment.add_user("reporter", name="ana.ruiz")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        yield http


@pytest.fixture
def story(editor: httpx.Client, author: httpx.Client) -> dict:
    """A live story of the test's own with a few entries, one of them a key event."""
    created = editor.post(
        "/api/stories",
        json={"title": "Storm Ada makes landfall", "slug": f"storm-ada-{secrets.token_hex(4)}"},
    )
    assert created.status_code == 201, created.text
    slug = created.json()["slug"]
    live = editor.patch(f"/api/stories/{slug}", json={"status": "live"})
    assert live.status_code == 200, live.text
    post(author, slug, "Wind gusts of **110 km/h** were measured at the harbour this evening.")
    post(
        author,
        slug,
        "Residents of the seafront are asked to leave by 9 pm. Shelters are open in the "
        "town hall and the sports centre.",
        key_event=True,
        headline="Evacuation ordered for the seafront",
    )
    post(author, slug, "Trains between the coast and the capital are cancelled until noon.")
    return live.json()


def embed_snippet(server: LiveServer, slug: str, theme: str = "light") -> str:
    """The oEmbed answer's HTML for the story, as a CMS would paste it."""
    params = {"url": f"{server.url}/stories/{slug}", "format": "json", "maxwidth": "680"}
    html = httpx.get(f"{server.url}/oembed", params=params, timeout=30).json()["html"]
    return html.replace('/embed"', f'/embed?theme={theme}"') if theme != "light" else html


def script_tag(server: LiveServer, slug: str, theme: str = "light", limit: int = 5) -> str:
    return (
        f'<script src="{server.url}/static/embed.js" data-story="{slug}" '
        f'data-theme="{theme}" data-limit="{limit}" async></script>'
    )


def open_host_page(
    new_page: Callable[..., Page],
    host_site: HostSite,
    server: LiveServer,
    slug: str,
    theme: str = "light",
    errors: list[str] | None = None,
) -> Page:
    """The other site's news page with both embeds of the story; its uncaught script errors
    (from the start) are added to errors."""
    snippet = embed_snippet(server, slug, theme)
    html = news_page(snippet, script_tag(server, slug, theme), dark=theme == "dark")
    page = new_page(viewport=WIDE)
    if errors is not None:
        page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(host_site.page(f"{slug}-{theme}.html", html))
    return page


def framed(page: Page) -> FrameLocator:
    return page.frame_locator("iframe[data-liveblog-embed]")


def scripted(page: Page) -> Locator:
    """The script embed's stream, inside its shadow root (Playwright's CSS pierces it)."""
    return page.locator("#script-embed .liveblog-embed article.story")


def wait_live(page: Page) -> None:
    for stream in (framed(page).locator("article.story"), scripted(page)):
        expect(stream.locator("#live-status")).to_have_attribute(
            "data-state", "live", timeout=DEADLINE_MS
        )


@pytest.fixture
def page_errors() -> list[str]:
    """Uncaught script errors of the live_page."""
    return []


@pytest.fixture
def live_page(
    server: LiveServer,
    story: dict,
    host_site: HostSite,
    new_page: Callable[..., Page],
    page_errors: list[str],
) -> Page:
    """The host page with both embeds of the story, once both are live."""
    page = open_host_page(new_page, host_site, server, story["slug"], errors=page_errors)
    wait_live(page)
    return page


def test_both_embeds_show_the_story_and_update_live(
    server: LiveServer, author: httpx.Client, story: dict, live_page: Page, page_errors: list[str]
) -> None:
    slug, page = story["slug"], live_page
    for stream in (framed(page).locator("article.story"), scripted(page)):
        expect(stream.locator("h1")).to_have_text(story["title"])
        expect(stream.locator("#entries > li")).to_have_count(3)
        expect(stream.locator(".headline")).to_have_text("Evacuation ordered for the seafront")
    fresh = post(author, slug, "The harbour wall has been **breached**, the coastguard says.")
    for stream in (framed(page).locator("article.story"), scripted(page)):
        entry = stream.locator(f"#entry-{fresh['id']}")
        expect(entry).to_contain_text("The harbour wall has been breached", timeout=DEADLINE_MS)
        expect(entry.locator("strong")).to_have_text("breached")
        expect(stream.locator("#entries > li").first).to_have_id(f"entry-{fresh['id']}")
    # Links lead to our site, out of the host page: absolute, in a new tab.
    permalink = scripted(page).locator(f"#entry-{fresh['id']} a.permalink")
    address = f"{server.url}/stories/{slug}/entries/{fresh['id']}"
    expect(permalink).to_have_attribute("href", address)
    expect(permalink).to_have_attribute("target", "_blank")
    save_screenshot(page, "embeds-host-page-light")
    assert page_errors == []


# The script embed's entries, with what differs by clock and time zone left out.
SCRIPTED_ENTRIES = """() => [...document.querySelector("#script-embed .liveblog-embed")
  .shadowRoot.querySelectorAll("#entries > li")].map(li => {
  const copy = li.cloneNode(true);
  copy.querySelectorAll("time").forEach(t => { t.textContent = ""; t.removeAttribute("title"); });
  return copy.outerHTML.replace(/>\\s+</g, "><").replace(/\\s+/g, " ");
})"""


def test_the_script_embed_builds_entries_from_lean_frames_as_the_server_renders_them(
    server: LiveServer,
    author: httpx.Client,
    story: dict,
    host_site: HostSite,
    new_page: Callable[..., Page],
) -> None:
    """embed.js takes the story page's lean frames (format=page) and builds each entry from
    the stream's template; a script embed loaded afterwards shows the same entries as the
    server renders them."""
    slug, errors, sockets = story["slug"], [], []
    page = new_page(viewport=WIDE)
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    html = news_page(embed_snippet(server, slug), script_tag(server, slug, limit=20))
    page.goto(host_site.page(f"{slug}-lean.html", html))
    wait_live(page)
    post(author, slug, "Sandbags <ok> & [a link](https://example.com/a?b=1&c=2).", pinned=True)
    edited = post(author, slug, "First version.")
    author.patch(f"/api/stories/{slug}/entries/{edited['id']}", json={"body": "Second."})
    retracted = post(author, slug, "Wrong.", key_event=True, headline="Wrong")
    url = f"/api/stories/{slug}/entries/{retracted['id']}"
    author.request("DELETE", url, json={"reason": "It was the other <dam>."})
    expect(scripted(page).locator(f"#entry-{retracted['id']} .retraction")).to_have_count(
        1, timeout=DEADLINE_MS
    )
    expect(scripted(page).locator(f"#entry-{edited['id']} .updated")).to_have_count(1)
    live = page.evaluate(SCRIPTED_ENTRIES)
    # A new browser context: its embed.json is not the cached one from before the posts, so
    # the server renders all six entries itself.
    rendered = new_page(viewport=WIDE)
    rendered.goto(host_site.page(f"{slug}-lean.html", html))
    wait_live(rendered)
    assert len(live) == 6
    assert live == rendered.evaluate(SCRIPTED_ENTRIES)
    assert sockets and all("format=page" in address for address in sockets), sockets
    assert errors == []


def test_the_iframe_grows_with_its_content(
    author: httpx.Client, story: dict, live_page: Page
) -> None:
    slug, page = story["slug"], live_page
    iframe = page.locator("iframe[data-liveblog-embed]")
    # The host page's embed.js applied the height the frame reported (not the snippet's 720).
    page.wait_for_function("document.querySelector('iframe[data-liveblog-embed]').style.height")
    before = iframe.bounding_box()["height"]
    assert 200 < before < 720
    for n in range(4):
        post(author, slug, f"Update number {n + 1}: the water keeps rising along the river.")
    expect(framed(page).locator("#entries > li")).to_have_count(7, timeout=DEADLINE_MS)
    page.wait_for_function(
        f"document.querySelector('iframe[data-liveblog-embed]').getBoundingClientRect()"
        f".height > {before + 4 * 60}",
        timeout=DEADLINE_MS,
    )
    inner = (
        framed(page)
        .locator("html")
        .evaluate("html => Math.ceil(html.getBoundingClientRect().height)")
    )
    assert abs(iframe.bounding_box()["height"] - inner) <= 1  # all of it shows, no scrollbar


def test_host_styles_do_not_leak_into_the_script_embed(
    server: LiveServer, story: dict, host_site: HostSite, new_page: Callable[..., Page]
) -> None:
    page = open_host_page(new_page, host_site, server, story["slug"])
    expect(scripted(page).locator("#entries > li")).to_have_count(3, timeout=DEADLINE_MS)
    page.add_style_tag(content=HOSTILE_CSS)
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<ul><li id=host-li>x</li></ul>')")
    host = page.locator("#host-li").evaluate("li => getComputedStyle(li).color")
    assert host == "rgb(255, 0, 0)"  # the hostile rules do apply on the host page itself
    style = (
        scripted(page)
        .locator("#entries > li")
        .first.evaluate(
            """li => { const s = getComputedStyle(li);
                   return [s.color, s.fontSize, s.fontFamily, s.backgroundColor]; }"""
        )
    )
    color, size, family, background = style
    assert color != "rgb(255, 0, 0)" and size != "40px"
    assert "Comic Sans" not in family and background != "rgb(255, 255, 0)"
    body = (
        scripted(page)
        .locator(".body p")
        .first.evaluate("p => [getComputedStyle(p).color, getComputedStyle(p).lineHeight]")
    )
    assert body[0] != "rgb(255, 0, 0)" and body[1] != "48px"


def test_the_script_embed_resumes_after_a_disconnect(
    server: LiveServer, author: httpx.Client, story: dict, live_page: Page
) -> None:
    slug, page = story["slug"], live_page
    status = scripted(page).locator("#live-status")
    server.stop()
    expect(status).to_have_attribute("data-state", "reconnecting", timeout=DEADLINE_MS)
    server.start()
    missed = [post(author, slug, f"Posted while away, number {n}")["id"] for n in range(2)]
    for entry_id in missed:
        # The embed retries with backoff up to 30 s (plus jitter), and a restart on a busy
        # machine takes seconds: its next attempt may come well after the server is back.
        expect(scripted(page).locator(f"#entry-{entry_id}")).to_have_count(
            1, timeout=RESUME_DEADLINE_MS
        )
    expect(status).to_have_attribute("data-state", "live", timeout=DEADLINE_MS)
    ids = scripted(page).locator("#entries > li").evaluate_all("l => l.map(e => +e.dataset.id)")
    assert ids[:2] == list(reversed(missed)) and len(ids) == len(set(ids)) == 5  # data-limit=5
    seq = author.get(f"/api/stories/{slug}").json()["seq"]
    expect(scripted(page)).to_have_attribute("data-seq", str(seq))


def test_only_the_embed_page_may_be_framed_by_another_site(
    server: LiveServer, story: dict, host_site: HostSite, new_page: Callable[..., Page]
) -> None:
    slug = story["slug"]
    html = (
        f'<!doctype html><title>framing</title><link rel="icon" href="data:,">'
        f'<iframe id="page" src="{server.url}/stories/{slug}"></iframe>'
        f'<iframe id="embed" src="{server.url}/stories/{slug}/embed"></iframe>'
    )
    page = new_page()
    with page.expect_console_message(lambda m: "frame-ancestors 'none'" in m.text) as refused:
        page.goto(host_site.page(f"{slug}-framing.html", html))
    assert "blocked" in refused.value.text
    expect(page.frame_locator("#embed").locator("article.story h1")).to_have_text(story["title"])
    blocked = page.frame(name="page")
    assert blocked is not None and not blocked.url.startswith(server.url)
    expect(page.frame_locator("#page").locator("article.story")).to_have_count(0)


def test_dark_theme_embeds(
    server: LiveServer, story: dict, host_site: HostSite, new_page: Callable[..., Page]
) -> None:
    page = open_host_page(new_page, host_site, server, story["slug"], theme="dark")
    wait_live(page)
    expect(framed(page).locator("html")).to_have_attribute("data-theme", "dark")
    for stream in (framed(page).locator("article.story"), scripted(page)):
        background = stream.evaluate("a => getComputedStyle(a).backgroundColor")
        assert background == "rgb(22, 24, 27)", background
    save_screenshot(page, "embeds-host-page-dark")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_embed_and_entry_pages_pass_axe(
    server: LiveServer, author: httpx.Client, story: dict, new_page: Callable[..., Page], theme: str
) -> None:
    slug = story["slug"]
    entry = post(author, slug, "A [link](https://example.com) and *emphasis*.", title="Titled")
    page = new_page(viewport={"width": 600, "height": 800})
    page.goto(f"{server.url}/stories/{slug}/embed?theme={theme}")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    assert_accessible(page, f"embed ({theme})")
    page.goto(f"{server.url}/stories/{slug}/entries/{entry['id']}")
    assert_accessible(page, "entry page")
