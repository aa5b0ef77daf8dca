"""The executable schema (`schema`) and its SDL (`sdl()`), as committed in schema/schema.graphql."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry.schema.config import StrawberryConfig

from graph_service.entrypoints.graphql.extensions import (
    BoundedParser,
    NetworkSchema,
    RequestLimits,
    ShapeCheckedValidation,
)
from graph_service.entrypoints.graphql.limits import CACHE_SIZE
from graph_service.entrypoints.graphql.roots import Mutation, Query
from graph_service.entrypoints.graphql.scalars import DATE_SCALAR

schema: strawberry.Schema = NetworkSchema(
    query=Query,
    mutation=Mutation,
    config=StrawberryConfig(scalar_map={date: DATE_SCALAR}),
    extensions=[
        RequestLimits,
        lambda: BoundedParser(maxsize=CACHE_SIZE),
        ShapeCheckedValidation,
    ],
)


def sdl() -> str:
    """The schema in GraphQL SDL, as committed in schema/schema.graphql."""
    return schema.as_str().rstrip("\n") + "\n"
