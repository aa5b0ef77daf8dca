"""`graph-service serve` (the GraphQL service and the dashboard, run by uvicorn) and
`graph-service schema` (its SDL)."""

from __future__ import annotations

import argparse
import sys

from graph_service.entrypoints.cli.common import EXIT_OK, Failed, checked_secret, note, open_service

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the store over HTTP on `args.host`:`args.port` until interrupted (with `args.workers`
    processes when more than one)."""
    checked_secret()
    service = open_service(args.store)
    if args.workers > 1:  # the store is checked; each worker loads it itself, this process supervises
        from graph_service.entrypoints.app import serve_workers

        store_url = service.settings.store_url
        service.close()
        del service
        url = f"http://{args.host}:{args.port}/"
        note(f"serving {store_url} on {url} with {args.workers} worker processes; Ctrl-C stops")
        serve_workers(store_url, host=args.host, port=args.port, workers=args.workers)
        return EXIT_OK
    try:
        try:
            from graph_service.entrypoints.app import create_app
        except ImportError as error:
            raise Failed(f"the GraphQL app cannot be loaded: {error}") from error
        import uvicorn

        from graph_service.entrypoints.logs import log_to_stderr

        log_to_stderr()
        app = create_app(service)
        note(
            f"serving {service.settings.store_url} on http://{args.host}:{args.port}/ (the dashboard; "
            f"GraphiQL: http://{args.host}:{args.port}/graphql); Ctrl-C stops"
        )
        uvicorn.run(app, host=args.host, port=args.port)
    finally:
        service.close()
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the GraphQL schema in SDL."""
    try:
        from graph_service.entrypoints.graphql import sdl
    except ImportError as error:
        raise Failed(f"the GraphQL schema cannot be loaded: {error}") from error
    text = sdl()
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK
