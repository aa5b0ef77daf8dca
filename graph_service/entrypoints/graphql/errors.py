"""Error mapping: how a GraphQL error reaches the client (message, locations, path and
`extensions.code`). A `ServiceError` keeps its code; GraphQL's own verdicts on a request are
BAD_USER_INPUT; anything else is INTERNAL, masked, and logged with the request id."""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from graph_service.domain.validation import Problem
from graph_service.entrypoints.graphql.inputs import camel_case
from graph_service.service_layer.errors import BadUserInput, ServiceError

logger = logging.getLogger("graph_service.graphql")

INTERNAL = "INTERNAL"
"""The code of an unexpected failure (the server's fault)."""
INTERNAL_MESSAGE = "internal server error; quote the request id when reporting it"
"""The only message a client sees for an unexpected failure."""
BAD_USER_INPUT = BadUserInput.code


def format_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
    """The client's view of an error: its message, locations and path, and `extensions.code`.

    A `ServiceError` keeps its code and message (a `BadUserInput` adds its problems); a request
    that cannot run (syntax, validation, a bad variable or argument value, a limit) is BAD_USER_INPUT
    with GraphQL's own message; anything else is INTERNAL, masked and logged.
    """
    original = error.original_error
    extensions: dict[str, Any] = {}
    if isinstance(original, ServiceError) and original.code != INTERNAL:
        code, message = original.code, original.message
        if isinstance(original, BadUserInput) and original.problems:
            extensions["problems"] = [_problem(problem) for problem in original.problems]
    elif _is_request_error(error):
        source = original if isinstance(original, GraphQLError) else error
        code = str((source.extensions or {}).get("code") or BAD_USER_INPUT)
        message = error.message
    else:
        logger.error(
            "INTERNAL error in request %s at %s",
            request_id,
            ".".join(str(part) for part in error.path or ()) or "(no path)",
            exc_info=original,
        )
        code, message = INTERNAL, INTERNAL_MESSAGE
    formatted: dict[str, Any] = {"message": message}
    if error.locations:
        formatted["locations"] = [location.formatted for location in error.locations]
    if error.path is not None:
        formatted["path"] = error.path
    formatted["extensions"] = {"code": code, "requestId": request_id, **extensions}
    return formatted


def _is_request_error(error: GraphQLError) -> bool:
    """True for GraphQL's own verdict on the request: a syntax, validation or variable error (before
    execution, so no path), or an argument value refused at run time (located at the value given).
    An output value GraphQL cannot represent also arrives as a GraphQLError, but without a location
    in the document: that one is the server's fault."""
    original = error.original_error
    if error.path is None:
        return original is None or isinstance(original, GraphQLError)
    return isinstance(original, GraphQLError) and bool(original.nodes) and original.original_error is None


def _problem(problem: Problem) -> dict[str, Any]:
    """One problem of a rejected input: the field to blame (camelCase, when one is) and why."""
    return {
        "field": camel_case(problem.column) if problem.column else None,
        "message": problem.message,
    }


def operation_problem(error: Exception) -> str:
    """Why the document names no operation that can run."""
    if isinstance(error, InvalidOperationTypeError):
        return f"{error.operation_type.value} operations are not supported; send a query or a mutation"
    if isinstance(error, CannotGetOperationTypeError) and error.operation_name is not None:
        return f"the document has no operation named {error.operation_name!r}"
    if isinstance(error, CannotGetOperationTypeError):
        return "the document must hold one operation, or name the one to run in operationName"
    return "the request has no query"
