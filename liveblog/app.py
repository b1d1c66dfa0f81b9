"""create_app(settings) -> Starlette: the one place the parts are put together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware

from liveblog.db.engine import open_database
from liveblog.db.migrate import upgrade_to_head
from liveblog.demo import keep_posting, seed_demo
from liveblog.garbage_collection import collector_for_serving
from liveblog.live.admission import with_reader_limit
from liveblog.live.bus import open_bus
from liveblog.live.hub import Hub
from liveblog.live.stream_transport import StreamKeepalive
from liveblog.media import open_media
from liveblog.metrics import Metrics
from liveblog.render.templates import template_environment
from liveblog.settings import Settings, redact_url
from liveblog.stories.writer import StoryWriter
from liveblog.web.cors import PublicReadCorsMiddleware
from liveblog.web.errors import EXCEPTION_HANDLERS
from liveblog.web.live import EVENT_STREAM, EventStreamMiddleware
from liveblog.web.live_socket import LiveSocketMiddleware
from liveblog.web.routes import LIVE_SOCKET, build_routes
from liveblog.web.security_headers import SecurityHeadersMiddleware
from liveblog.web.services import Services

log = logging.getLogger("liveblog")


def create_app(settings: Settings) -> Starlette:
    """The application for these settings; the database and bus open in its lifespan."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = open_database(settings)
        bus = open_bus(settings.bus_url)
        templates = template_environment()
        metrics = Metrics()
        metrics.count_bus_reconnects(lambda: bus.reconnects)
        metrics.count_database_queries(db.sync_engines())
        hub = Hub(db, bus, templates, metrics)
        try:
            await upgrade_to_head(db)
            await bus.start()
            await hub.start()
            app.state.services = Services(
                settings=with_reader_limit(settings),  # raises the open-file limit too
                db=db,
                bus=bus,
                writer=StoryWriter(db, bus, metrics),
                hub=hub,
                stream_keepalive=StreamKeepalive(
                    asyncio.get_running_loop(), settings.sse_keepalive_interval
                ),
                metrics=metrics,
                templates=templates,
                media=open_media(settings, db),
            )
            log.info(
                "ready: database %s, bus %s, up to %d readers",
                redact_url(settings.database_url),
                redact_url(settings.bus_url),
                app.state.services.settings.max_readers,
            )
            async with _demo(settings, app.state.services):
                with collector_for_serving(metrics.collection_pauses):
                    yield
        finally:
            await hub.close()
            await bus.close()
            await db.close()

    https = (settings.public_url or "").startswith("https://")
    middleware = [
        Middleware(LiveSocketMiddleware, path=LIVE_SOCKET),
        Middleware(EventStreamMiddleware, path=EVENT_STREAM),
        Middleware(SecurityHeadersMiddleware),
        Middleware(PublicReadCorsMiddleware),
        Middleware(
            SessionMiddleware,
            secret_key=settings.secret_key,
            session_cookie="liveblog_session",
            same_site="lax",
            https_only=https,
        ),
    ]
    return Starlette(
        routes=build_routes(),
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )


@asynccontextmanager
async def _demo(settings: Settings, services: Services) -> AsyncIterator[None]:
    if not settings.demo:
        yield
        return
    author = await seed_demo(services.db, services.writer)
    poster = asyncio.create_task(keep_posting(services.writer, author, settings.demo_interval))
    try:
        yield
    finally:
        poster.cancel()
        with suppress(asyncio.CancelledError):
            await poster
