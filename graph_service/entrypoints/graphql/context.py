"""The request context every resolver sees, and the small helpers resolvers share to read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeAlias

import strawberry
from strawberry import UNSET

from graph_service.service_layer.auth import Principal
from graph_service.service_layer.services import NetworkService

# --- the request context -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GraphQLContext:
    """What every resolver of one request sees: the service, who asks, the request id, and "today"."""

    service: NetworkService
    principal: Principal | None
    request_id: str
    today: date
    operation_name: str | None = None
    """The operationName the client sent (GraphQL requires one when the document holds several)."""
    caller_specific: set[str] = field(default_factory=set)
    """The fields resolved whose answer depends on who asks (the audit trail): a response that names
    any must not be served to another caller from a cache."""


Info: TypeAlias = strawberry.Info[GraphQLContext, None]


def service_of(info: Info) -> NetworkService:
    return info.context.service


def day(info: Info, as_of: date | None) -> date:
    """`asOf` when given, else today in the configured time zone (fixed once per request)."""
    return as_of if as_of is not None and as_of is not UNSET else info.context.today


def readable(info: Info) -> NetworkService:
    """The service, once the service layer agrees the caller may read."""
    service = service_of(info)
    service.check_read(info.context.principal)
    return service


def given(value: Any) -> Any:
    """None for an argument that was left out (UNSET) or passed as null."""
    return None if value is UNSET else value
