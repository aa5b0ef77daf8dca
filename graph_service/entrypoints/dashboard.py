"""The planners' dashboard and the files it needs (spec §8), served by the service itself.

Routes (added by `app.create_app`):
- `GET /`: the dashboard page (static HTML; its script talks to POST /graphql);
- `GET /static/...`: the page's own scripts and styles and the vendored GraphiQL (package data under
  `graph_service/entrypoints/static/`), each read and gzip-compressed once, revalidated by ETag;
- `GET /export/uncovered?under=CODE&level=LEVEL[&asOf=D][&format=csv|xlsx]`: the gap list as a file,
  the same rows as `graph-service export uncovered`, under the same read rules as /graphql.

Nothing is fetched from another host: GraphiQL's HTML (`graphiql_html`) loads the vendored copies.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import PurePosixPath
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from graph_service.domain.levels import DivisionLevel
from graph_service.domain.validation import parse_date
from graph_service.entrypoints import exports, http_common
from graph_service.entrypoints.http_common import RequestRefused, error_body
from graph_service.service_layer.auth import Principal
from graph_service.service_layer.errors import (
    BadUserInput,
    Forbidden,
    NotFound,
    ServiceError,
    Unauthenticated,
    Unavailable,
)
from graph_service.service_layer.services import NetworkService

STATIC_PACKAGE = "graph_service.entrypoints"
STATIC_DIR = "static"
EXPORT_LEVELS = tuple(str(level) for level in DivisionLevel if level is not DivisionLevel.PROVINCE)
DOWNLOAD_FORMATS = ("csv", "xlsx")
_STATUS = {
    BadUserInput.code: 400,
    Unauthenticated.code: 401,
    Forbidden.code: 403,
    NotFound.code: 404,
    Unavailable.code: 503,
}
"""The HTTP status of a service error refusing an export."""

PrincipalOf = Callable[[Request], Principal | None]
"""Who a request's bearer token names (None without one); raises RequestRefused for a bad token."""


def static_text(*parts: str) -> str:
    """A text file of the package's static folder."""
    return resources.files(STATIC_PACKAGE).joinpath(STATIC_DIR, *parts).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def graphiql_html() -> str:
    """GraphiQL's page, loading React, ReactDOM and GraphiQL from /static/vendor (no CDN)."""
    return static_text("graphiql.html")


def routes(service: NetworkService, principal_of: PrincipalOf) -> list[BaseRoute]:
    """The dashboard's routes over `service`."""
    index = static_text("dashboard", "index.html")

    async def dashboard(request: Request) -> Response:
        return HTMLResponse(index, headers={"Cache-Control": "no-cache"})

    async def export_uncovered(request: Request) -> Response:
        request_id = http_common.request_id(request)
        try:
            principal = principal_of(request)
            service.check_read(principal)  # who asks is checked before anything else is looked at
            query = _export_query(request)
            return await run_in_threadpool(_export, service, query)
        except RequestRefused as refused:
            body = {"errors": [error_body(refused.message, refused.code, request_id)]}
            return JSONResponse(body, refused.status, headers=refused.headers)
        except ServiceError as error:
            status = _STATUS.get(error.code, 500)
            headers = {"Retry-After": str(Unavailable.retry_after)} if error.code == Unavailable.code else {}
            body = {"errors": [error_body(error.message, error.code, request_id)]}
            return JSONResponse(body, status, headers=headers)

    files = PackageFiles()

    async def static(request: Request) -> Response:
        found = await run_in_threadpool(files.get, request.path_params["path"])
        if found is None:
            return PlainTextResponse("not found", 404)
        return found.response(request)

    return [
        Route("/", dashboard, methods=["GET"]),
        Route("/export/uncovered", export_uncovered, methods=["GET"]),
        Route("/static/{path:path}", static, methods=["GET", "HEAD"]),
    ]


@dataclass(frozen=True, slots=True)
class PackageFile:
    """One static file, read once: its bytes, their gzip form (when worth it), type and entity tag."""

    data: bytes
    compressed: bytes | None
    media_type: str
    etag: str

    def response(self, request: Request) -> Response:
        """The file for this request: 304 when the client holds this version, gzip when it accepts it."""
        headers = {"ETag": self.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
        if self.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        body = self.data
        if self.compressed is not None and "gzip" in request.headers.get("accept-encoding", ""):
            body = self.compressed
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type=self.media_type, headers=headers)


class PackageFiles:
    """The files of the package's static folder, each read and compressed once, on first request."""

    def __init__(self) -> None:
        self._files: dict[str, PackageFile] = {}
        self._lock = threading.Lock()

    def get(self, path: str) -> PackageFile | None:
        """The file at `path` under the static folder (None: no such file, or a path leaving it)."""
        with self._lock:
            found = self._files.get(path)
            if found is None:
                found = _read_package_file(path)
                if found is not None:  # misses are not kept: any path may be asked for
                    self._files[path] = found
            return found


_TEXT_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".md": "text/markdown"}


def _read_package_file(path: str) -> PackageFile | None:
    parts = PurePosixPath(path).parts
    if not parts or any(part in ("", ".", "..") or part.startswith((".", "/")) for part in parts):
        return None
    resource = resources.files(STATIC_PACKAGE).joinpath(STATIC_DIR, *parts)
    if not resource.is_file():
        return None
    data = resource.read_bytes()
    suffix = PurePosixPath(path).suffix
    media_type = _TEXT_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "text/plain"
    if media_type.startswith("text/"):
        media_type += "; charset=utf-8"
    compressed = (
        gzip.compress(data, 6, mtime=0) if len(data) > 1024 and media_type.startswith("text/") else None
    )
    return PackageFile(data, compressed, media_type, f'"{hashlib.sha256(data).hexdigest()[:20]}"')


def _export_query(request: Request) -> tuple[str, DivisionLevel, date | None, str]:
    """The export's parameters (under, level, asOf, format), or RequestRefused 400 naming the bad one."""
    params = request.query_params
    known = {"under", "level", "asOf", "format"}
    unknown = sorted(set(params) - known)
    if unknown:
        raise _bad(f"unknown parameter {unknown[0]!r}: use under, level, asOf and format")
    under = params.get("under", "").strip()
    if not under:
        raise _bad("under: give the code of the division to list under (e.g. under=522324)")
    level = params.get("level", "")
    if level not in EXPORT_LEVELS:
        raise _bad(f"level: {level!r} is not one of {', '.join(EXPORT_LEVELS)}")
    format = params.get("format", "csv")
    if format not in DOWNLOAD_FORMATS:
        raise _bad(f"format: {format!r} is not one of {', '.join(DOWNLOAD_FORMATS)}")
    return under, DivisionLevel(level), _as_of(params.get("asOf")), format


def _as_of(text: str | None) -> date | None:
    """The asOf parameter as a date (None when absent): exactly YYYY-MM-DD, years 1900..2100."""
    if text is None or text == "":
        return None
    try:
        return parse_date(text)
    except ValueError as error:
        raise _bad(f"asOf: {error}") from None


def _bad(message: str) -> RequestRefused:
    return RequestRefused(400, BadUserInput.code, message)


def _export(service: NetworkService, query: tuple[str, DivisionLevel, date | None, str]) -> Response:
    """The gap list file (in a worker thread: store and engine calls block)."""
    under, level, as_of, format = query
    with service.views.consistent():  # the app's Follower keeps the engine caught up with the store
        day = as_of or service.today()
        rows = exports.uncovered_rows(service, under, level, day)
        data, _count = exports.xlsx_bytes(rows) if format == "xlsx" else exports.csv_bytes(rows)
    name = f"uncovered-{under}-{level}-{day.isoformat()}.{format}"
    return Response(
        data,
        media_type=exports.MEDIA_TYPES[format],
        headers={"Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"},
    )
