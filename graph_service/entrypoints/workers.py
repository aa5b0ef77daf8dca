"""Several service processes on one port (`graph-service serve --workers N`): uvicorn's supervisor
runs `worker_app` in each, and every worker loads the network and follows the store itself, as separate
service processes sharing a store do.

Each worker listens on a socket of its own, all bound to the one address with `SO_REUSEPORT`, so the
kernel spreads new connections over the workers evenly (by a hash of each connection's addresses). On
one shared socket, whichever worker woke first took the next connection: in load runs one worker
sometimes got all 16 keep-alive connections and the other none."""

from __future__ import annotations

import logging
import socket
from contextlib import suppress
from typing import Any, TypeVar

from starlette.applications import Starlette

from graph_service.service_layer.settings import pass_store_url_on

WORKER_APP = "graph_service.entrypoints.workers:worker_app"
"""The app factory each process of `serve_workers` runs (uvicorn imports it by this name)."""

logger = logging.getLogger("uvicorn.error")

S = TypeVar("S", bound=socket.socket)


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
    """Serve on `host:port` with `workers` processes, each listening on its own socket
    (`WorkerListener`; uvicorn's supervisor replaces a worker that dies and stops when one fails to
    start). Each worker opens `store_url` and loads the whole network itself (memory grows by one
    network per worker) and follows the store like any process sharing it: a write through one worker
    is seen through the others once they catch up (within the refresh interval). Returns when the
    server stops."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    pass_store_url_on(store_url)  # the workers are fresh processes: they read it from the environment
    config = uvicorn.Config(
        WORKER_APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=access_log,
        # A worker loading a national network is busy for seconds: give its health check room.
        timeout_worker_healthcheck=60,
    )
    with WorkerListener.bound(host, port) as listener:
        address = listener.getsockname()
        logger.info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)", address[0], address[1])
        with suppress(KeyboardInterrupt):  # Ctrl+C: the supervisor has stopped the workers
            Multiprocess(config, sockets=[listener]).run()


class WorkerListener(socket.socket):
    """The supervisor's socket on the service's address: bound with `SO_REUSEPORT`, never listening
    (so the kernel hands it no connection), it holds the address for the workers. What a worker
    receives in its place (this class pickles as `own_listener` of its address) is a socket of its own
    on the same address, which the worker listens on."""

    @classmethod
    def bound(cls, host: str, port: int) -> WorkerListener:
        """A listener bound to `host:port` (port 0: a free port, the same for every worker)."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return _bound_beside_others(cls(family, socket.SOCK_STREAM, socket.IPPROTO_TCP), (host, port))

    def __reduce__(self) -> tuple[Any, tuple[int, tuple[Any, ...]]]:
        return own_listener, (int(self.family), self.getsockname())


def own_listener(family: int, address: tuple[Any, ...]) -> socket.socket:
    """A worker's own socket on `address`, beside the other workers' (`SO_REUSEPORT`). Made with
    protocol `IPPROTO_TCP`, so asyncio turns Nagle's algorithm off on each connection it accepts
    (on a socket of protocol 0 it does not, and every answer, headers then body, waited about 40 ms
    for the client's delayed acknowledgement)."""
    return _bound_beside_others(socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP), address)


def _bound_beside_others(sock: S, address: tuple[Any, ...]) -> S:
    """`sock` bound to `address`, which the service's other sockets (and one left in TIME_WAIT) may
    hold too; closed again when that fails."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock
