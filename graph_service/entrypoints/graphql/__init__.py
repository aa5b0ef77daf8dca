"""The GraphQL entry point (spec §5): the schema, its resolvers, and the per-request limits.

Resolvers only translate. They take the request's `GraphQLContext`, call the service layer
(`NetworkService` and its read model), and wrap the records that come back. Access rules, validation
and writes all live in the service layer. A `ServiceError` raised there reaches the client as a
GraphQL error whose `extensions.code` is the error's `code` (`errors.format_error` does that mapping).

What lives where (each module imports only those listed before it, plus the domain and the service
layer; nothing here imports the engine or the adapters):

- `limits`: the numeric limits (page size, depth, aliases, tokens, document length, cost).
- `context`: `GraphQLContext`, the `Info` alias, and the helpers resolvers use to read them.
- `scalars`: the `Date` scalar and the GraphQL enums mirroring the domain's.
- `pagination`: cursors, `first` checking, `paging`, and the generic `Connection[T]`/`Edge[T]`.
- `types`, `inputs`: the output and input types.
- `roots`: `Query` and `Mutation`.
- `rules`: the document rules (shape, cost, bounded field merging, `is_quick_read`).
- `extensions`: the strawberry extensions applying the limits, and `NetworkSchema`.
- `schema`: the executable `schema` and `sdl()`.
- `plans`: the lean executor of plain query documents (planned once per document, happy path only).
- `execution`: `execute_operation`, the one way a request's operation runs: a query whose document
  is already known valid straight through graphql-core (or its plan), anything else through
  strawberry's whole pipeline.
- `errors`: the error mapping (`format_error`: ServiceError codes, BAD_USER_INPUT, masked INTERNAL).

This package re-exports what the other entry points and the tests use.
"""

from graph_service.entrypoints.graphql.context import GraphQLContext, Info
from graph_service.entrypoints.graphql.extensions import parse_document
from graph_service.entrypoints.graphql.limits import (
    CACHE_SIZE,
    MAX_ALIASES,
    MAX_COST,
    MAX_DEPTH,
    MAX_DOCUMENT_CHARS,
    MAX_PAGE_SIZE,
    MAX_TOKENS,
)
from graph_service.entrypoints.graphql.pagination import decode_cursor, encode_cursor
from graph_service.entrypoints.graphql.rules import MAX_QUICK_COST, is_quick_read
from graph_service.entrypoints.graphql.schema import schema, sdl

__all__ = [
    "CACHE_SIZE",
    "MAX_ALIASES",
    "MAX_COST",
    "MAX_DEPTH",
    "MAX_DOCUMENT_CHARS",
    "MAX_PAGE_SIZE",
    "MAX_QUICK_COST",
    "MAX_TOKENS",
    "GraphQLContext",
    "Info",
    "decode_cursor",
    "encode_cursor",
    "is_quick_read",
    "parse_document",
    "schema",
    "sdl",
]
