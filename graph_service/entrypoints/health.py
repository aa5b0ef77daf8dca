"""GET /healthz and GET /readyz: /healthz answers while the process is up (it waits for nothing);
/readyz answers 200 when the store answered the follower's last catch-up, 503 with the reason otherwise,
and lists the stored rows that break the rules (left out of every answer)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graph_service.entrypoints.http_common import request_id
from graph_service.service_layer.errors import Unavailable
from graph_service.service_layer.following import Follower
from graph_service.service_layer.services import NetworkService

logger = logging.getLogger("graph_service.graphql")

READYZ_PROBLEMS_SHOWN = 1_000
"""At most this many of the store's problems are listed on /readyz (`graph-service check` lists all)."""


def health_routes(service: NetworkService, follower: Follower) -> list[Route]:
    """The /healthz and /readyz routes of the app serving `service`, kept caught up by `follower`."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        """Ready when the store answered the follower's last catch-up (without a running follower, as
        under a test client without lifespan, one catch-up is made now); 503 with the reason if not."""
        if not follower.running:
            try:
                await run_in_threadpool(follower.check)
            except Exception:
                logger.warning("readiness check failed (request %s)", request_id(request), exc_info=True)
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

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
