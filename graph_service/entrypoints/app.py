"""The HTTP side of the GraphQL service (spec §5), as a Starlette app.

Routes: POST /graphql runs a query or mutation; GET /graphql serves GraphiQL; GET /healthz answers
while the process is up (it waits for nothing); GET /readyz answers 200 when the store answered the
last catch-up, 503 with the reason otherwise; its body lists the stored rows that break the rules
(left out of every answer).

Every request gets an id (a uuid), sent back in the `X-Request-Id` header; every response carries
`X-Content-Type-Options: nosniff`; CORS answers only the origins in GRAPH_SERVICE_CORS_ORIGINS (none
by default). Every error a client sees is GraphQL-shaped and carries `extensions.code` (spec §5) and
`extensions.requestId`; an unexpected exception becomes INTERNAL with a fixed message, and is logged
with the request id and its traceback. Bad input is never answered with HTTP 500.

Who asks is settled first (spec §7): a bad token, an anonymous read on a private server, a mutation
without an editor's or admin's token are refused before the document is validated, a cached answer
looked up or anything run. HTTP statuses (GraphQL over HTTP): a response refused for who asks is 401
(UNAUTHENTICATED, with `WWW-Authenticate: Bearer`) or 403 (FORBIDDEN) whatever the Accept header; a
response whose errors are all UNAVAILABLE (the store is busy or unreachable) is 503 with
`Retry-After`, whatever the Accept header; with `Accept: application/graphql-response+json` a request
that fails before execution (syntax, validation, variables, limits) is 400 and answered in that media
type; with `application/json` (or no Accept header) such a GraphQL error is answered 200.

A request is answered from the response cache when the same query was answered on the same data
version and day for a caller of the same role and scope, and otherwise runs in a worker thread (a
quick read, answered from memory in a fraction of a millisecond, runs on the event loop instead). No
request touches the store to read: while the app runs (its lifespan), a `Follower` thread catches up
with other processes' writes.

`serve_workers` runs several such processes on one port (`graph-service serve --workers N`): each loads
the network and follows the store itself, as separate service processes sharing a store do.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, nullcontext, suppress
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from graphql import GraphQLError, get_operation_ast
from graphql.language import OperationType as GraphQLOperationType
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from graph_service.entrypoints.graphql import GraphQLContext, is_quick_read, parse_document, schema
from graph_service.entrypoints.graphql.errors import (
    INTERNAL,
    INTERNAL_MESSAGE,
    format_error,
    operation_problem,
)
from graph_service.service_layer.auth import Principal, read_token
from graph_service.service_layer.errors import (
    BadUserInput,
    Forbidden,
    Unauthenticated,
    Unavailable,
)
from graph_service.service_layer.following import Follower
from graph_service.service_layer.services import NetworkService
from graph_service.service_layer.settings import pass_store_url_on

logger = logging.getLogger("graph_service.graphql")

MAX_BODY_BYTES = 8 * 1024 * 1024
"""The largest request body accepted: room for the Guizhou demo station file as an import."""
REQUEST_ID_HEADER = "X-Request-Id"

BAD_USER_INPUT = BadUserInput.code
UNAUTHENTICATED = Unauthenticated.code
FORBIDDEN = Forbidden.code
READYZ_PROBLEMS_SHOWN = 1_000
"""At most this many of the store's problems are listed on /readyz (`graph-service check` lists all)."""
JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
_ACCEPTED: Mapping[str, tuple[str, int]] = {
    GRAPHQL_RESPONSE: (GRAPHQL_RESPONSE, 2),
    JSON: (JSON, 1),
    "application/*": (JSON, 0),
    "*/*": (JSON, 0),
}
"""Each media range the service can answer, with the media type it answers in and its preference
among ranges of equal quality (the more specific first)."""
_ALLOWED_OPERATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})


class RequestRefused(Exception):
    """A request refused before any GraphQL ran: HTTP status, code and message for the client."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


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

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        """Ready when the store answered the follower's last catch-up (without a running follower, as
        under a test client without lifespan, one catch-up is made now); 503 with the reason if not."""
        if not follower.running:
            try:
                await run_in_threadpool(follower.check)
            except Exception:
                logger.warning("readiness check failed (request %s)", _request_id(request), exc_info=True)
        problem, since = follower.problem, follower.failing_since
        if problem is not None:
            failing = datetime.fromtimestamp(since or time.time(), UTC).isoformat(timespec="seconds")
            return JSONResponse(
                {
                    "status": "unavailable",
                    "reason": f"{problem} (since {failing}); reads are answered from the data version "
                    f"{service.views.version}, writes are refused with UNAVAILABLE",
                    "dataVersion": service.views.version,
                },
                503,
                headers={"Retry-After": str(Unavailable.retry_after)},
            )
        problems = service.views.problems
        return JSONResponse(
            {
                "status": "ready",
                "dataVersion": service.views.version,
                # Stored rows today's rules refuse: left out of every answer, still ready (README).
                "storeProblems": len(problems),
                "problems": [problem.as_json() for problem in problems[:READYZ_PROBLEMS_SHOWN]],
            }
        )

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
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            *dashboard.routes(service, endpoint._principal),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.follower = follower
    return app


WORKER_APP = "graph_service.entrypoints.app:worker_app"
"""The app factory each process of `serve_workers` runs (uvicorn imports it by this name)."""


def worker_app() -> Starlette:
    """The app over the store GRAPH_SERVICE_STORE names, opened and loaded in this process (one
    worker of `serve_workers`); the service is closed when the app shuts down."""
    from graph_service.bootstrap import open_service
    from graph_service.service_layer.settings import Settings

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


class ResponseHeadersMiddleware:
    """Gives each HTTP request a fresh uuid (in `request.state.request_id`), returned in the
    `X-Request-Id` response header, and sends `X-Content-Type-Options: nosniff` with every response,
    so no browser reads a JSON answer (or an error) as another type of content."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                headers["X-Content-Type-Options"] = "nosniff"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _request_id(request: Request) -> str:
    return getattr(request.state, "request_id", None) or str(uuid.uuid4())


class GraphQLEndpoint:
    """GET: GraphiQL. POST: one GraphQL operation as JSON {query, variables?, operationName?}."""

    def __init__(self, service: NetworkService, max_body_bytes: int) -> None:
        self.service = service
        self.max_body_bytes = max_body_bytes
        self.responses = ResponseCache()

    async def respond(self, request: Request) -> Response:
        if request.method == "GET":
            from graph_service.entrypoints.dashboard import graphiql_html

            return HTMLResponse(graphiql_html())
        request_id = _request_id(request)
        media_type = JSON
        try:
            media_type = _response_media_type(request.headers.get("accept"))
            payload = await self._read_payload(request)
            principal = self._principal(request)
            self._check_access(payload, principal)
            key = _operation_key(payload, principal)
            today = self.service.today()  # once per request: it reads the clock and the time zone
            cached = self.responses.get(key, self.service.views.version, today)
            if cached is not None:
                return Response(cached, media_type=media_type)
            status, body, version = await self._run(payload, principal, request_id, today)
        except RequestRefused as refused:
            return JSONResponse(
                {"errors": [_error(refused.message, refused.code, request_id)]},
                refused.status,
                headers=refused.headers,
                media_type=media_type,
            )
        except Exception:
            logger.exception("unexpected error handling request %s", request_id)
            return JSONResponse(
                {"errors": [_error(INTERNAL_MESSAGE, INTERNAL, request_id)]}, 500, media_type=media_type
            )
        status = _http_status(status, body, media_type)
        headers = _unavailable_headers(body)
        if headers:
            status = 503
        elif status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        response = JSONResponse(body, status, headers=headers, media_type=media_type)
        if version is not None:
            # Starlette types a body as bytes | memoryview; JSONResponse's is bytes (no copy is made).
            self.responses.put(key, version, today, bytes(response.body))
        return response

    # --- before GraphQL --------------------------------------------------------------------------

    async def _read_payload(self, request: Request) -> dict[str, Any]:
        """The request's JSON body, checked for size, media type and shape."""
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            raise RequestRefused(
                415, BAD_USER_INPUT, "send the operation as JSON (Content-Type: application/json)"
            )
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            raise self._too_large()
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body_bytes:
                raise self._too_large()
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError) as error:
            raise RequestRefused(400, BAD_USER_INPUT, "the request body is not valid JSON") from error
        if not isinstance(payload, dict):
            raise RequestRefused(400, BAD_USER_INPUT, "send one operation as a JSON object (no batches)")
        query, variables = payload.get("query"), payload.get("variables")
        operation_name = payload.get("operationName")
        if not isinstance(query, str) or not query.strip():
            raise RequestRefused(400, BAD_USER_INPUT, "the request has no query (a string)")
        if variables is not None and not isinstance(variables, dict):
            raise RequestRefused(400, BAD_USER_INPUT, "variables must be a JSON object")
        if operation_name is not None and not isinstance(operation_name, str):
            raise RequestRefused(400, BAD_USER_INPUT, "operationName must be a string")
        if payload.get("extensions") is not None and not isinstance(payload["extensions"], dict):
            raise RequestRefused(400, BAD_USER_INPUT, "extensions must be a JSON object")
        return {"query": query, "variables": variables, "operation_name": operation_name}

    def _too_large(self) -> RequestRefused:
        return RequestRefused(
            413, BAD_USER_INPUT, f"the request body is larger than {self.max_body_bytes} bytes"
        )

    def _check_access(self, payload: Mapping[str, Any], principal: Principal | None) -> None:
        """Refuse, before any other work, a caller who may not read (a private server and no token)
        or may not write at all (a mutation without an editor's or admin's token). An editor's scope
        is checked later, once the stations it touches are known."""
        try:
            self.service.check_read(principal)
            if _operation_type(payload["query"], payload["operation_name"]) is GraphQLOperationType.MUTATION:
                self.service.check_writer(principal)
        except Unauthenticated as error:
            raise RequestRefused(401, error.code, error.message, {"WWW-Authenticate": "Bearer"}) from error
        except Forbidden as error:
            raise RequestRefused(403, error.code, error.message) from error

    def _principal(self, request: Request) -> Principal | None:
        """Who the bearer token names (None without one); 401 UNAUTHENTICATED for a bad one."""
        header = request.headers.get("authorization")
        if header is None:
            return None
        scheme, _, token = header.strip().partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("send the token as Authorization: Bearer <token>")
            return read_token(self.service.settings.jwt_secret, token.strip())
        except Unauthenticated as error:
            raise RequestRefused(
                401,
                error.code,
                error.message,
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from error

    # --- GraphQL ---------------------------------------------------------------------------------

    async def _run(
        self, payload: Mapping[str, Any], principal: Principal | None, request_id: str, today: date
    ) -> tuple[int, dict[str, Any], int | None]:
        """Run the operation: a quick read (`is_quick_read`: lookups and binary searches in memory, a
        fraction of a millisecond) on the event loop when the engine is free this instant, since the
        hop to a worker thread would cost more than the answer; anything else in a worker thread (store
        calls block, and a long walk must not hold up the other requests)."""
        if _quick_read(payload["query"], payload["operation_name"]):
            with self.service.views.consistent_now() as held:
                if held:
                    return self._execute(payload, principal, request_id, today)
        return await run_in_threadpool(self._execute, payload, principal, request_id, today)

    def _execute(
        self, payload: Mapping[str, Any], principal: Principal | None, request_id: str, today: date
    ) -> tuple[int, dict[str, Any], int | None]:
        """Run the operation (in a worker thread) as of `today`: the HTTP status, the body, and the
        data version the answer may be kept for (None: not to be kept: a mutation, or an answer with
        errors).

        For a query the engine's lock is held throughout, so every field of one response sees one
        version of the network, even while another request writes. A mutation does not hold it: it
        may wait for the store, and reads must not wait with it.
        """
        is_query = _is_query(payload["query"], payload["operation_name"])
        views = self.service.views
        with views.consistent() if is_query else nullcontext(views.version) as version:
            context = GraphQLContext(self.service, principal, request_id, today, payload["operation_name"])
            try:
                result = schema.execute_sync(
                    payload["query"],
                    variable_values=payload["variables"],
                    context_value=context,
                    operation_name=payload["operation_name"],
                    allowed_operation_types=_ALLOWED_OPERATIONS,
                )
            except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError) as error:
                return 400, {"errors": [_error(operation_problem(error), BAD_USER_INPUT, request_id)]}, None
            changed = views.version != version
        body: dict[str, Any] = {}
        errors = result.errors or []
        if result.data is not None or any(error.path is not None for error in errors):
            body["data"] = result.data
        if errors:
            body["errors"] = [format_error(error, request_id) for error in errors]
        keep = not errors and not changed and not context.caller_specific and is_query
        return 200, body, version if keep else None


CacheKey = tuple[str, str | None, str | None, tuple[str, str] | None]
"""An operation (query, variables, operation name) and who asked it (role and scope, None: no token)."""


class ResponseCache:
    """Answers to error-free queries, by (operation, who asks, data version, today): a repeated
    dashboard query is answered without running GraphQL again until the network changes or the day
    turns. Only queries are kept, and only for callers of the same role and scope, so no answer
    reaches a caller who could not have read it."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._version: tuple[int, date] | None = None
        self._bodies: dict[CacheKey, bytes] = {}

    def get(self, key: CacheKey, version: int, today: date) -> bytes | None:
        if self._version != (version, today):
            return None
        body = self._bodies.pop(key, None)
        if body is not None:
            self._bodies[key] = body  # most recently used last
        return body

    def put(self, key: CacheKey, version: int, today: date, body: bytes) -> None:
        if self._version != (version, today):
            self._bodies.clear()
            self._version = (version, today)
        self._bodies[key] = body
        while len(self._bodies) > self.size:
            del self._bodies[next(iter(self._bodies))]


def _operation_key(payload: Mapping[str, Any], principal: Principal | None) -> CacheKey:
    variables = payload["variables"]
    return (
        payload["query"],
        json.dumps(variables, sort_keys=True) if variables else None,
        payload["operation_name"],
        (str(principal.role), principal.scope) if principal is not None else None,
    )


@lru_cache(maxsize=512)
def _operation_type(query: str, operation_name: str | None) -> GraphQLOperationType | None:
    """The type of the operation to run (None when the document does not parse or names no one
    operation to run; GraphQL then says why)."""
    try:
        operation = get_operation_ast(parse_document(query), operation_name)
    except GraphQLError:
        return None
    return operation.operation if operation is not None else None


def _is_query(query: str, operation_name: str | None) -> bool:
    """Whether the operation to run is a query (not a mutation)."""
    return _operation_type(query, operation_name) is GraphQLOperationType.QUERY


def _response_media_type(accept: str | None) -> str:
    """The media type to answer in (GraphQL over HTTP): application/graphql-response+json when the
    Accept header prefers it, application/json for application/json, a wildcard or no header; 406 when
    the header accepts neither."""
    if accept is None or not accept.strip():
        return JSON
    best: tuple[float, int, str] | None = None
    for part in accept.split(","):
        media_range, *parameters = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        offer = _ACCEPTED.get(media_range.lower())
        if offer is None or not quality > 0:
            continue
        if best is None or (quality, offer[1]) > best[:2]:
            best = (quality, offer[1], offer[0])
    if best is None:
        raise RequestRefused(
            406,
            BAD_USER_INPUT,
            f"this service answers in {GRAPHQL_RESPONSE} or {JSON}; the Accept header allows neither",
        )
    return best[2]


def _http_status(status: int, body: Mapping[str, Any], media_type: str) -> int:
    """The HTTP status of a GraphQL response (`status` as execution left it): 401 when everything was
    refused for want of a valid token, 403 when refused for want of permission (whatever the Accept
    header); in application/graphql-response+json, 400 for a request that failed before execution
    (no `data`: syntax, validation, variables, limits) and 500 when that was the server's fault."""
    errors = body.get("errors") or []
    if not errors or body.get("data") is not None:
        return status
    codes = {error["extensions"]["code"] for error in errors}
    if codes == {UNAUTHENTICATED}:
        return 401
    if codes <= {UNAUTHENTICATED, FORBIDDEN}:
        return 403
    if status == 200 and media_type == GRAPHQL_RESPONSE and "data" not in body:
        return 500 if INTERNAL in codes else 400
    return status


@lru_cache(maxsize=512)
def _quick_read(query: str, operation_name: str | None) -> bool:
    """Whether the operation is a quick read (see `is_quick_read`); False when it does not parse."""
    try:
        return is_quick_read(parse_document(query), operation_name)
    except GraphQLError:
        return False


def _unavailable_headers(body: Mapping[str, Any]) -> dict[str, str]:
    """`Retry-After` when the body has errors and all are UNAVAILABLE (sent as HTTP 503), else none."""
    errors = body.get("errors") or ()
    codes = {(error.get("extensions") or {}).get("code") for error in errors}
    return {"Retry-After": str(Unavailable.retry_after)} if codes == {Unavailable.code} else {}


def _error(message: str, code: str, request_id: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code, "requestId": request_id}}
