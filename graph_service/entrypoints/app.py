"""The HTTP side of the GraphQL service (spec §5), as a Starlette app: `create_app` puts it together.

Routes: POST /graphql runs a query or mutation and GET /graphql serves GraphiQL (`graphql_http`, with
its response cache in `response_cache`); GET /healthz and GET /readyz (`health`); the dashboard and its
exports (`dashboard`).

Every request gets an id (a uuid), sent back in the `X-Request-Id` header; every response carries
`X-Content-Type-Options: nosniff` (`http_common`); CORS answers only the origins in
GRAPH_SERVICE_CORS_ORIGINS (none by default). Every error a client sees is GraphQL-shaped and carries
`extensions.code` (spec §5) and `extensions.requestId`; an unexpected exception becomes INTERNAL with a
fixed message, and is logged with the request id and its traceback. Bad input is never answered with
HTTP 500.

No request touches the store to read: while the app runs (its lifespan), a `Follower` thread catches up
with other processes' writes.

`serve_workers` (`workers`) runs several such processes on one port (`graph-service serve --workers N`):
each loads the network and follows the store itself, as separate service processes sharing a store do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route

from graph_service.entrypoints.graphql_http import MAX_BODY_BYTES, GraphQLEndpoint
from graph_service.entrypoints.health import health_routes
from graph_service.entrypoints.http_common import REQUEST_ID_HEADER, ResponseHeadersMiddleware
from graph_service.entrypoints.workers import (
    WORKER_APP,
    serve_workers,
    worker_app,
)
from graph_service.service_layer.following import Follower
from graph_service.service_layer.services import NetworkService

__all__ = [
    "MAX_BODY_BYTES",
    "WORKER_APP",
    "create_app",
    "serve_workers",
    "worker_app",
]


def create_app(
    service: NetworkService, *, max_body_bytes: int = MAX_BODY_BYTES, close_service: bool = False
) -> Starlette:
    """The Starlette app serving `service` (already opened, its engine loaded). While it runs (its
    lifespan), a `Follower` keeps the engine caught up with other processes' writes; with
    `close_service`, the service is closed when the app shuts down."""
    from graph_service.entrypoints import dashboard

    endpoint = GraphQLEndpoint(service, max_body_bytes)
    follower = Follower(service)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        follower.start()
        try:
            yield
        finally:
            await run_in_threadpool(follower.stop)
            if close_service:
                service.close()

    middleware = [Middleware(ResponseHeadersMiddleware)]
    origins = service.settings.cors_origins
    if origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "Accept"],
                expose_headers=[REQUEST_ID_HEADER],
                max_age=600,
            )
        )
    app = Starlette(
        routes=[
            Route("/graphql", endpoint.respond, methods=["GET", "POST"]),
            *health_routes(service, follower),
            *dashboard.routes(service, endpoint._principal),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.follower = follower
    return app
