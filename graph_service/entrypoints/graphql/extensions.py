"""The strawberry extensions that apply the limits to each request: bounded parsing, shape-checked
validation, the cost refusal; and the schema class that leaves error logging to the HTTP layer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import strawberry
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationDefinitionNode,
)
from strawberry.extensions import (
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.parser_cache import _get_parse_cache

from graph_service.entrypoints.graphql.context import GraphQLContext
from graph_service.entrypoints.graphql.limits import CACHE_SIZE, MAX_COST, MAX_DOCUMENT_CHARS, MAX_TOKENS
from graph_service.entrypoints.graphql.rules import estimated_cost, shape_refusal, validation_rules
from graph_service.service_layer.errors import BadUserInput


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
        """Why the operation must not run (None when it may)."""
        context = self.execution_context
        document = context.graphql_document
        if document is None:
            return None
        request = context.context
        operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
        if operations > 1 and isinstance(request, GraphQLContext) and request.operation_name is None:
            # GraphQL's GetOperation; strawberry alone would quietly run the first operation.
            return "the document holds several operations: name the one to run in operationName"
        cost = estimated_cost(document, context.operation_name, context.variables)
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


class ShapeCheckedValidation(ValidationCache):
    """Validation, cached by document: refuses a document too deep or with too many aliases
    (`shape_refusal`, one linear walk) before GraphQL's rules run, so none of them walks a document
    whose fragments expand past the limits."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        problem = shape_refusal(context.graphql_document) if context.graphql_document else None
        if problem is None:
            yield from super().on_validate()
            return
        context.pre_execution_errors = [GraphQLError(problem, extensions={"code": BadUserInput.code})]
        yield


class NetworkSchema(strawberry.Schema):
    """The schema, leaving error logging to the HTTP layer (which logs only unexpected errors, with
    the request id) instead of strawberry's default of logging every error with its traceback."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        return None
