"""The floor: the `websockets` library's own server and `broadcast()`, nothing else.

No app, no database, compression off. It holds every connection open and, on
`GET /publish?u=U&t=T`, broadcasts one ~1.5 KB text message carrying the marker
`@@u=U;t=T@@` to all of them. `GET /healthz` answers 200 once it listens.

    python benchmarks/floor_server.py --port 8765 [--asyncio]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.http11 import Request, Response

FILLER = (
    "The river crested overnight at the old stone bridge, and crews worked until dawn to "
    "move sandbags along the east bank while residents watched from the high street. "
)


def update_text(update: int, sent_ns: int, size: int = 1500) -> str:
    """About size bytes of news text carrying the marker the load client looks for."""
    text = f"Update {update}. @@u={update};t={sent_ns}@@ "
    return text + (FILLER * (size // len(FILLER) + 1))[: max(0, size - len(text))]


def message(update: int, sent_ns: int, size: int = 1500) -> str:
    """A ~size-byte JSON message, what the floor and nchan send for each update."""
    text = update_text(update, sent_ns, size - 40)
    return json.dumps({"seq": update, "type": "update", "text": text})


async def main(port: int) -> None:
    running: list[Server] = []  # the server, once it listens

    async def hold(connection: ServerConnection) -> None:
        await connection.wait_closed()

    def route(connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path == "/healthz":
            return connection.respond(HTTPStatus.OK, "ok\n")
        if url.path == "/publish":
            query = parse_qs(url.query)
            text = message(int(query["u"][0]), int(query["t"][0]))
            connections = running[0].connections
            broadcast(connections, text)
            return connection.respond(HTTPStatus.OK, f"{len(connections)}\n")
        return None  # anything else is a reader's WebSocket handshake

    async with serve(hold, "127.0.0.1", port, compression=None, process_request=route) as server:
        running.append(server)
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--asyncio", action="store_true", help="plain asyncio, not uvloop")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.asyncio:
        asyncio.run(main(args.port))
    else:
        try:
            import uvloop
        except ImportError:
            asyncio.run(main(args.port))
        else:
            uvloop.run(main(args.port))
