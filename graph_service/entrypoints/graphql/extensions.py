"""The strawberry extensions that apply the limits to each request: bounded parsing, shape-checked
validation, the cost refusal; and the schema class that leaves error logging to the HTTP layer.

Parsing is cached by query text, so one query text gives one document object while it stays cached.
What is worked out from a document alone (its validation errors, its cost at given page sizes) is
kept per document object (`DocumentMemo`): a request with the same query and other variables looks
its document up by identity instead of hashing or walking the whole tree again."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Any, Generic, TypeVar, cast

import strawberry
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationDefinitionNode,
    specified_rules,
)
from strawberry.extensions import ParserCache, SchemaExtension
from strawberry.extensions.parser_cache import _get_parse_cache
from strawberry.schema.schema import validate_document

from graph_service.entrypoints.graphql.context import GraphQLContext
from graph_service.entrypoints.graphql.limits import CACHE_SIZE, MAX_COST, MAX_DOCUMENT_CHARS, MAX_TOKENS
from graph_service.entrypoints.graphql.rules import (
    estimated_cost,
    first_variables,
    shape_refusal,
    validation_rules,
)
from graph_service.service_layer.errors import BadUserInput

V = TypeVar("V")


class DocumentMemo(Generic[V]):
    """What was worked out for a parsed document, by the document's identity and a key: the least
    recently used of at most `maxsize` entries goes first. Each entry holds its document, so the id
    it is filed under cannot be reused by another object while it is kept. Safe across threads."""

    def __init__(self, maxsize: int = CACHE_SIZE) -> None:
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple[int, Hashable], tuple[DocumentNode, V]] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, document: DocumentNode, key: Hashable) -> V | None:
        """The value kept for (`document`, `key`) (a hit), or None when none is kept (nothing is worked
        out, and it is not counted as a miss)."""
        with self._lock:
            entry = self._entries.get((id(document), key))
            if entry is None or entry[0] is not document:
                return None
            self.hits += 1
            return entry[1]

    def get(self, document: DocumentNode, key: Hashable, work_out: Callable[[], V]) -> V:
        """The value kept for (`document`, `key`), worked out by `work_out()` the first time."""
        slot = (id(document), key)
        with self._lock:
            entry = self._entries.get(slot)
            if entry is not None and entry[0] is document:
                self._entries.move_to_end(slot)
                self.hits += 1
                return entry[1]
        value = work_out()
        with self._lock:
            self.misses += 1
            self._entries[slot] = (document, value)
            self._entries.move_to_end(slot)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return value


VALIDATED: DocumentMemo[list[GraphQLError]] = DocumentMemo()
"""Each document's validation errors (none: valid), by the validation rules used."""
STANDARD_RULES = validation_rules(tuple(specified_rules))
"""The validation rules every request is checked with (strawberry's default, GraphQL's specified
rules, with the bounded field-merging rule): `VALIDATED`'s key for them."""
PAGE_SIZE_VARIABLES: DocumentMemo[tuple[str, ...]] = DocumentMemo()
"""The variables each document passes as `first` (`first_variables`)."""
REFUSALS: DocumentMemo[str | None] = DocumentMemo()
"""Why an operation may not run (None: it may), by operation and the page sizes its variables give."""


class RequestLimits(SchemaExtension):
    """Per request: caps the document's tokens at parse time, bounds the field-merging rule's work,
    and refuses (BAD_USER_INPUT) an operation whose estimated cost is over MAX_COST."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = MAX_TOKENS
        context.validation_rules = validation_rules(context.validation_rules)
        yield

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        problem = self._refusal()
        if problem is not None:
            error = GraphQLError(problem, extensions={"code": BadUserInput.code})
            context.result = ExecutionResult(data=None, errors=[error])
        yield

    def _refusal(self) -> str | None:
        """Why the operation must not run (None when it may): see `refusal`."""
        context = self.execution_context
        document = context.graphql_document
        if document is None:
            return None
        request = context.context
        unnamed = isinstance(request, GraphQLContext) and request.operation_name is None
        return refusal(document, context.operation_name, unnamed, context.variables)


def refusal(
    document: DocumentNode, operation_name: str | None, unnamed: bool, variables: dict[str, Any] | None
) -> str | None:
    """Why the operation `operation_name` of `document` must not run with `variables` (None when it
    may): several operations and none named (`unnamed`: the client sent no operationName), or a cost
    over MAX_COST. Worked out once per document, operation and page sizes given in variables."""
    given = variables or {}
    names = PAGE_SIZE_VARIABLES.get(document, None, lambda: first_variables(document))
    sizes = tuple(_hashable(given.get(name)) for name in names)
    return REFUSALS.get(
        document,
        (operation_name, unnamed, sizes),
        lambda: _work_out_refusal(document, operation_name, unnamed, variables),
    )


def _work_out_refusal(
    document: DocumentNode, operation_name: str | None, unnamed: bool, variables: dict[str, Any] | None
) -> str | None:
    operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
    if operations > 1 and unnamed:
        # GraphQL's GetOperation; strawberry alone would quietly run the first operation.
        return "the document holds several operations: name the one to run in operationName"
    cost = estimated_cost(document, operation_name, variables)
    if cost > MAX_COST:
        return (
            f"the query asks for too much (over {MAX_COST} fields at the page sizes given); "
            "ask for smaller pages (first) or fewer nested lists"
        )
    return None


def parse_document(query: str) -> DocumentNode:
    """The document of `query`, parsed once (cached) within MAX_DOCUMENT_CHARS and MAX_TOKENS;
    a `GraphQLError` saying what is wrong otherwise."""
    if len(query) > MAX_DOCUMENT_CHARS:
        raise GraphQLError(
            f"the document is {len(query)} characters long, over the maximum of {MAX_DOCUMENT_CHARS}; "
            "send large values (such as an import's file) as variables",
            extensions={"code": BadUserInput.code},
        )
    # strawberry types its cached `parse` as returning Any; it is graphql-core's parse.
    return cast(DocumentNode, _get_parse_cache(CACHE_SIZE)(query, max_tokens=MAX_TOKENS))


class BoundedParser(ParserCache):
    """Parsing through `parse_document`: bounded in length and tokens, cached by query text."""

    def on_parse(self) -> Iterator[None]:
        self.execution_context.graphql_document = parse_document(self.execution_context.query or "")
        yield


class ShapeCheckedValidation(SchemaExtension):
    """Validation, once per document (`VALIDATED`): refuses a document too deep or with too many
    aliases (`shape_refusal`, one linear walk) before GraphQL's rules run, so none of them walks a
    document whose fragments expand past the limits."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            rules = tuple(context.validation_rules)
            schema = context.schema._schema
            context.pre_execution_errors = VALIDATED.get(
                document, rules, lambda: _validation_errors(schema, document, rules)
            )
        yield


def _validation_errors(schema: Any, document: DocumentNode, rules: tuple[Any, ...]) -> list[GraphQLError]:
    """The document's shape refusal if it has one, else what GraphQL's `rules` (and strawberry's own)
    find wrong."""
    problem = shape_refusal(document)
    if problem is not None:
        return [GraphQLError(problem, extensions={"code": BadUserInput.code})]
    return validate_document(schema, document, rules)


def _hashable(value: Any) -> Hashable:
    """`value` as a cache key: an int (a page size) or None as it is; anything else (a bool included,
    which `estimated_cost` does not take for a page size) by its text."""
    return value if value is None or type(value) is int else repr(value)


class NetworkSchema(strawberry.Schema):
    """The schema, leaving error logging to the HTTP layer (which logs only unexpected errors, with
    the request id) instead of strawberry's default of logging every error with its traceback."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        return None
