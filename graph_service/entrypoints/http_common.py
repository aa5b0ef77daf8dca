"""What every HTTP route of the service shares: the request id and security headers every response
carries (`ResponseHeadersMiddleware`), a request refused before any GraphQL ran (`RequestRefused`), and
the GraphQL-shaped error body a client sees. Imports only Starlette."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-Id"


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


def request_id(request: Request) -> str:
    """The id `ResponseHeadersMiddleware` gave the request (a fresh uuid without the middleware)."""
    return getattr(request.state, "request_id", None) or str(uuid.uuid4())


def error_body(message: str, code: str, request_id: str) -> dict[str, Any]:
    """One GraphQL-shaped error, with its `extensions.code` and `extensions.requestId` (spec §5)."""
    return {"message": message, "extensions": {"code": code, "requestId": request_id}}
