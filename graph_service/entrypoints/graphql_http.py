"""POST /graphql and GET /graphql (GraphiQL): the GraphQL over HTTP endpoint (spec §5).

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
quick read, answered from memory in a fraction of a millisecond, runs on the event loop instead).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from contextlib import nullcontext
from datetime import date
from functools import lru_cache
from typing import Any

from graphql import GraphQLError, get_operation_ast
from graphql.language import OperationType as GraphQLOperationType
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from graph_service.entrypoints import http_common
from graph_service.entrypoints.graphql import GraphQLContext, is_quick_read, parse_document
from graph_service.entrypoints.graphql.errors import (
    INTERNAL,
    INTERNAL_MESSAGE,
    format_error,
    operation_problem,
)
from graph_service.entrypoints.graphql.execution import execute_operation
from graph_service.entrypoints.http_common import RequestRefused, error_body
from graph_service.entrypoints.response_cache import ResponseCache, operation_key
from graph_service.service_layer.auth import Principal, read_token
from graph_service.service_layer.errors import (
    BadUserInput,
    Forbidden,
    Unauthenticated,
    Unavailable,
)
from graph_service.service_layer.services import NetworkService

logger = logging.getLogger("graph_service.graphql")

MAX_BODY_BYTES = 8 * 1024 * 1024
"""The largest request body accepted: room for the Guizhou demo station file as an import."""

BAD_USER_INPUT = BadUserInput.code
UNAUTHENTICATED = Unauthenticated.code
FORBIDDEN = Forbidden.code
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
        request_id = http_common.request_id(request)
        media_type = JSON
        try:
            media_type = _response_media_type(request.headers.get("accept"))
            payload = await self._read_payload(request)
            principal = self._principal(request)
            self._check_access(payload, principal)
            key = operation_key(payload, principal)
            today = self.service.today()  # once per request: it reads the clock and the time zone
            cached = self.responses.get(key, self.service.views.version, today)
            if cached is not None:
                return Response(cached, media_type=media_type)
            status, body, version = await self._run(payload, principal, request_id, today)
        except RequestRefused as refused:
            return JSONResponse(
                {"errors": [error_body(refused.message, refused.code, request_id)]},
                refused.status,
                headers=refused.headers,
                media_type=media_type,
            )
        except Exception:
            logger.exception("unexpected error handling request %s", request_id)
            return JSONResponse(
                {"errors": [error_body(INTERNAL_MESSAGE, INTERNAL, request_id)]}, 500, media_type=media_type
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
                result = execute_operation(payload["query"], payload["variables"], context, is_query=is_query)
            except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError) as error:
                problem = error_body(operation_problem(error), BAD_USER_INPUT, request_id)
                return 400, {"errors": [problem]}, None
            changed = views.version != version
        body: dict[str, Any] = {}
        errors = result.errors or []
        if result.data is not None or any(error.path is not None for error in errors):
            body["data"] = result.data
        if errors:
            body["errors"] = [format_error(error, request_id) for error in errors]
        keep = not errors and not changed and not context.caller_specific and is_query
        return 200, body, version if keep else None


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
