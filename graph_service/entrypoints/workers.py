"""Several service processes on one port (`graph-service serve --workers N`): uvicorn's supervisor
runs `worker_app` in each, and every worker loads the network and follows the store itself, as separate
service processes sharing a store do. `NoDelayHttpToolsProtocol` turns Nagle's algorithm off on the
connections of the shared socket."""

from __future__ import annotations

import asyncio
import socket
from contextlib import suppress

from starlette.applications import Starlette
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from graph_service.service_layer.settings import pass_store_url_on

WORKER_APP = "graph_service.entrypoints.workers:worker_app"
"""The app factory each process of `serve_workers` runs (uvicorn imports it by this name)."""


def worker_app() -> Starlette:
    """The app over the store GRAPH_SERVICE_STORE names, opened and loaded in this process (one
    worker of `serve_workers`); the service is closed when the app shuts down."""
    from graph_service.bootstrap import open_service
    from graph_service.entrypoints.app import create_app
    from graph_service.entrypoints.logs import log_to_stderr
    from graph_service.service_layer.settings import Settings

    log_to_stderr()
    return create_app(open_service(Settings.from_env()), close_service=True)


def serve_workers(
    store_url: str, *, host: str, port: int, workers: int, log_level: str = "info", access_log: bool = True
) -> None:
    """Serve on `host:port` with `workers` processes sharing the listening socket (uvicorn's
    supervisor, which replaces a worker that dies and stops when one fails to start). Each worker
    opens `store_url` and loads the whole network itself (memory grows by one network per worker)
    and follows the store like any process sharing it: a write through one worker is seen through
    the others once they catch up (within the refresh interval). Returns when the server stops."""
    import uvicorn

    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    pass_store_url_on(store_url)  # the workers are fresh processes: they read it from the environment
    uvicorn.run(
        WORKER_APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=NoDelayHttpToolsProtocol,
        log_level=log_level,
        access_log=access_log,
        # A worker loading a national network is busy for seconds: give its health check room.
        timeout_worker_healthcheck=60,
    )


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol (httptools) with Nagle's algorithm off on every connection. With
    several workers uvicorn binds the shared socket itself as `socket.socket(family)`, whose protocol
    number is 0, so asyncio does not set TCP_NODELAY on the connections it accepts (it does only for
    sockets made with IPPROTO_TCP): an answer written as headers, then body, then waits for the
    client's delayed acknowledgement, about 40 ms per request on Linux."""

    # uvicorn's own connection_made takes an asyncio.Transport where asyncio's BaseProtocol says
    # BaseTransport (uvicorn ignores the same override error); this keeps uvicorn's signature.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
