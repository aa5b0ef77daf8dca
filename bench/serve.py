"""The two HTTP servers the benchmark drives, each one uvicorn worker on 127.0.0.1, run the same way.

    python -m bench.serve app --store URL --port P        the real app: create_app(NetworkService)
    python -m bench.serve bare --body-file F --port P     a bare Starlette endpoint answering POST
                                                          /graphql with the bytes of F (the ceiling)

Both log warnings only and no access log, and both answer GET /healthz. `app --workers N` (N > 1)
serves with N worker processes (`serve_workers`, as `graph-service serve --workers N`), each loading
the network; it logs uvicorn's start-up lines, one "Application startup complete." per worker.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graph_service.entrypoints.logs import log_to_stderr

HOST = "127.0.0.1"


def bare_app(body: bytes) -> Starlette:
    """The framework's ceiling: read the request, answer the same JSON bytes the real app would."""

    async def graphql(request: Request) -> Response:
        await request.body()
        return Response(body, media_type="application/json")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["POST"]), Route("/healthz", healthz, methods=["GET"])]
    )


def real_app(store_url: str) -> Starlette:
    from graph_service.bootstrap import open_service
    from graph_service.entrypoints.app import create_app
    from graph_service.service_layer.settings import Settings

    return create_app(open_service(Settings.from_env(store_url=store_url)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serve", description=__doc__)
    parser.add_argument("kind", choices=["app", "bare"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--store", help="the store URL (app)")
    parser.add_argument("--body-file", type=Path, help="the JSON body to answer with (bare)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (app; default 1)")
    args = parser.parse_args(argv)
    if args.kind == "app":
        if not args.store:
            parser.error("app needs --store")
        if args.workers > 1:
            from graph_service.entrypoints.app import serve_workers

            serve_workers(args.store, host=HOST, port=args.port, workers=args.workers, access_log=False)
            return 0
        app = real_app(args.store)
        log_to_stderr()  # catch-up times, for bench.catchup and bench.load
    else:
        if args.body_file is None:
            parser.error("bare needs --body-file")
        app = bare_app(args.body_file.read_bytes())
    uvicorn.run(app, host=HOST, port=args.port, workers=None, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
