"""Another site, for embed tests: a tiny HTTP server on a port of its own (so a different
origin from the Liveblog server), serving pages written by the test, and its news-page look."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support import free_port

NEWS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Storm Ada: what we know so far · The Daily Example</title>
<link rel="icon" href="data:,">
<style>
  body {{ margin: 0; font: 17px/1.6 "Helvetica Neue", Arial, sans-serif; color: #222;
         background: {background}; }}
  .masthead {{ background: #111; color: #fff; padding: 14px 32px;
              font: 700 28px Georgia, serif; letter-spacing: .01em; }}
  .masthead small {{ font: 400 13px Arial, sans-serif; color: #aaa; margin-left: 12px; }}
  .columns {{ display: grid; grid-template-columns: minmax(0, 1fr) 380px; gap: 40px;
             max-width: 1160px; margin: 28px auto; padding: 0 28px; }}
  article h1 {{ font: 700 36px/1.15 Georgia, serif; margin: 0 0 10px; color: {ink}; }}
  article p {{ color: {ink}; }}
  .standfirst {{ font-size: 20px; color: #666 !important; }}
  figure {{ margin: 28px 0; }}
  figcaption {{ font-size: 13px; color: #777; margin-top: 6px; }}
  aside h2 {{ font: 700 13px Arial, sans-serif; letter-spacing: .1em; text-transform: uppercase;
             color: {ink}; border-bottom: 3px solid {ink}; padding-bottom: 6px; margin: 0 0 14px; }}
</style>
</head>
<body>
<header class="masthead">The Daily Example <small>Independent news since 1887</small></header>
<div class="columns">
  <article>
    <h1>Storm Ada: what we know so far</h1>
    <p class="standfirst">Coastal towns brace for the strongest storm in a decade.</p>
    <p>Forecasters expect wind gusts above 120 km/h through the night. Our partners at the
       newsroom follow the storm as it happens in the live updates below.</p>
    <figure id="iframe-embed">{iframe}<figcaption>Live updates, by iframe (oEmbed)</figcaption>
    </figure>
    <p>Schools in the region will stay closed tomorrow, the council said.</p>
  </article>
  <aside id="script-embed">
    <h2>Latest updates</h2>
    {script}
  </aside>
</div>
</body>
</html>
"""


def news_page(iframe: str, script: str, dark: bool = False) -> str:
    """A news article page holding an iframe snippet and a script tag."""
    colors = (
        {"background": "#121212", "ink": "#eee"}
        if dark
        else {
            "background": "#f6f3ec",
            "ink": "#1c1c1c",
        }
    )
    return NEWS_PAGE.format(iframe=iframe, script=script, **colors)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # the test's output is no place for an access log


@dataclass
class HostSite:
    """A running static site: write a page, get its URL."""

    folder: Path
    url: str

    def page(self, name: str, html: str) -> str:
        (self.folder / name).write_text(html, encoding="utf-8")
        return f"{self.url}/{name}"


def serve_folder(folder: Path) -> tuple[HostSite, ThreadingHTTPServer, threading.Thread]:
    """Serve folder on a free port of 127.0.0.1 from a thread; stop with stop_site()."""
    port = free_port()
    handler = partial(_QuietHandler, directory=str(folder))
    httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    return HostSite(folder, f"http://127.0.0.1:{port}"), httpd, thread


def stop_site(httpd: ThreadingHTTPServer, thread: threading.Thread) -> None:
    """Stop a site started by serve_folder."""
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)
