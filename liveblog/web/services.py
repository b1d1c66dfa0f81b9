"""What request handlers need, built once by create_app and reached through request.app."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment
from starlette.requests import HTTPConnection

from liveblog.db.engine import Database
from liveblog.live.bus import Bus
from liveblog.live.hub import Hub
from liveblog.live.stream_transport import StreamKeepalive
from liveblog.media import MediaLibrary
from liveblog.metrics import Metrics
from liveblog.settings import Settings
from liveblog.stories.writer import StoryWriter


@dataclass(frozen=True)
class Services:
    """The settings and the long-lived parts of one running process."""

    settings: Settings
    db: Database
    bus: Bus
    writer: StoryWriter
    hub: Hub
    stream_keepalive: StreamKeepalive
    metrics: Metrics
    templates: Environment
    media: MediaLibrary


def services(connection: HTTPConnection) -> Services:
    """The Services of the app serving this request or socket."""
    return connection.app.state.services
