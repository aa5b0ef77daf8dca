"""The response cache of the GraphQL endpoint: answers to error-free queries, kept by operation, who
asks, data version and day."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from graph_service.service_layer.auth import Principal

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


def operation_key(payload: Mapping[str, Any], principal: Principal | None) -> CacheKey:
    """The cache key of `payload` (query, variables, operation name) asked by `principal`."""
    variables = payload["variables"]
    return (
        payload["query"],
        json.dumps(variables, sort_keys=True) if variables else None,
        payload["operation_name"],
        (str(principal.role), principal.scope) if principal is not None else None,
    )
