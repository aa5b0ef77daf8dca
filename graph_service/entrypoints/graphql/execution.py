"""Running a query whose document is already known to be valid, straight through graphql-core.

`schema.execute_sync` builds strawberry's execution context and runs every extension's hooks
(parsing, validation, the limits) on each request: about a quarter of the CPU of a small query. Once
a document has been parsed, validated and found within the limits, none of that can change for it;
only the variables can, and what they change (the page sizes, hence the cost) is memoised per
document too (`refusal`). So a query whose document the memos already know to be valid is executed
here with graphql-core's `execute` over the same schema, the same executor class and the same
context as strawberry would use: the answer, and any error a resolver or a variable raises, is the
same. Anything else (a document seen for the first time, one with errors, a refused one, a
mutation) goes the whole way through strawberry, which decides and reports it as before.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Any, TypeGuard

from graphql import ExecutionResult, GraphQLError, OperationType, execute, get_operation_ast
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.execution import ExecutionResult as StrawberryExecutionResult
from strawberry.types.graphql import OperationType as StrawberryOperationType

from graph_service.entrypoints.graphql.context import GraphQLContext
from graph_service.entrypoints.graphql.extensions import (
    STANDARD_RULES,
    VALIDATED,
    DocumentMemo,
    parse_document,
    refusal,
)
from graph_service.entrypoints.graphql.plans import Plan, plan_of, run_plan
from graph_service.entrypoints.graphql.schema import schema

ALLOWED_OPERATIONS = frozenset({StrawberryOperationType.QUERY, StrawberryOperationType.MUTATION})
"""What a request may run (strawberry's operation types): no subscriptions."""
PLANS: DocumentMemo[Plan | None] = DocumentMemo()
"""Each document's plan for the lean executor (None: graphql-core executes it), by operation name."""


def execute_operation(
    query: str, variables: dict[str, Any] | None, context: GraphQLContext, *, is_query: bool
) -> ExecutionResult | StrawberryExecutionResult:
    """Run one operation (the one `context.operation_name` names): a query whose document is known to
    be valid by the fast path (`execute_known_query`), anything else through strawberry's whole
    pipeline, which may raise strawberry's errors for a missing query or a disallowed operation."""
    known = execute_known_query(query, variables, context) if is_query else None
    if known is not None:
        return known
    return schema.execute_sync(
        query,
        variable_values=variables,
        context_value=context,
        operation_name=context.operation_name,
        allowed_operation_types=ALLOWED_OPERATIONS,
    )


def execute_known_query(
    query: str, variables: dict[str, Any] | None, context: GraphQLContext
) -> ExecutionResult | None:
    """The result of the query `query` (the operation `context.operation_name`) when its document was
    already validated without errors and is within the limits at these variables' page sizes; None
    when it must go through `schema.execute_sync` (not a query, not yet validated, or refused)."""
    try:
        document = parse_document(query)
    except GraphQLError:
        return None
    operation_name = context.operation_name
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return None
    if VALIDATED.peek(document, STANDARD_RULES) != []:
        return None
    named = operation_name if operation_name is not None else operation.name.value if operation.name else None
    if refusal(document, named, operation_name is None, variables) is not None:  # as strawberry keys it
        return None
    plan = PLANS.get(document, operation_name, lambda: plan_of(schema._schema, document, operation_name))
    if plan is not None:
        data = run_plan(plan, schema._schema, variables, context, optimized_is_awaitable)
        if data is not None:
            return ExecutionResult(data=data)
    try:
        result = execute(
            schema._schema,
            document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            executor_class=StrawberryGraphQLCoreExecutionContext,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # as strawberry passes it
            is_async_iterable=_never,
        )
    except Exception as error:  # as strawberry does: an error escaping execution becomes a result
        coerced = error if isinstance(error, GraphQLError) else GraphQLError(str(error), original_error=error)
        return ExecutionResult(data=None, errors=[coerced])
    if not isinstance(result, ExecutionResult):
        raise RuntimeError("GraphQL execution failed to complete synchronously")
    return result


def _never(_value: Any) -> TypeGuard[AsyncIterable[Any]]:
    """No value is an async iterable here (synchronous execution, as strawberry's `execute_sync`)."""
    return False
