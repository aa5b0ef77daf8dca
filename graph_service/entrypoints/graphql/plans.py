"""A lean executor for plain query documents, planned once per document.

graphql-core's executor works out, on every request and for every field, which fields a selection
holds, what each field's type is and how to complete its value, and strawberry wraps every resolver
in argument conversion and an `Info` object. For the documents the service is asked most (the
dashboard's and the benchmarks' questions: plain fields, no fragments, no directives) all of that is
the same on every request. `plan_of` works it out once per document (kept with the document's other
memos); `run_plan` then executes the plan: each field's resolver is called with its arguments
(coerced by graphql-core's own `get_argument_values`), and each value is completed the way GraphQL
says (non-null checked, lists mapped, leaves serialised by their type, objects by their fields).

Only the happy path is done here: when anything out of the ordinary happens (variables that do not
coerce, a resolver that raises, a null where the schema says non-null, a value of the wrong kind),
`run_plan` gives up (`None`) and the caller executes the document with graphql-core instead. A query
has no effects, so running it again that way gives exactly graphql-core's answer and errors.

Resolvers that are plain attribute reads (strawberry's "basic" fields) or methods taking only `self`
are called directly; any other (arguments, `info`) through strawberry's own wrapper, as graphql-core
would call it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import _OperationContextAwareGraphQLResolveInfo

STRAWBERRY_FIELD = "strawberry-definition"
"""The key under which strawberry keeps its field definition in a graphql-core field's extensions."""


class _GiveUp(Exception):
    """The happy path broke: the document must be executed by graphql-core instead."""


Completer = Callable[[Any, "_Run", Path], Any]


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """One field of a selection: its response key, what to call, and how to complete the value."""

    key: str
    node: FieldNode
    field: GraphQLField | None
    """None for `__typename`."""
    parent_type: GraphQLObjectType
    direct: Callable[[Any], Any] | None
    """The resolver called with the source alone, when it needs nothing else."""
    complete: Completer


@dataclass(frozen=True, slots=True)
class Plan:
    """The plan of one query operation of a document."""

    operation: OperationDefinitionNode
    root_type: GraphQLObjectType
    fields: tuple[FieldPlan, ...]


@dataclass(slots=True)
class _Run:
    """What one execution of a plan shares: the schema, the operation, variables, the context."""

    schema: GraphQLSchema
    operation: OperationDefinitionNode
    variables: Any
    coerced: dict[str, Any]
    context: Any
    is_awaitable: Callable[[Any], bool]


def plan_of(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> Plan | None:
    """The plan of the query `operation_name` in `document` (a valid document), or None when the
    operation is not a plain query this executor takes (fragments, directives, introspection,
    abstract types, fields asked twice under one key)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(document.definitions) != len(operations):
        return None  # fragment definitions
    chosen = [
        op for op in operations if operation_name is None or (op.name and op.name.value == operation_name)
    ]
    if len(chosen) != 1 or chosen[0].operation is not OperationType.QUERY or chosen[0].directives:
        return None
    root_type = schema.query_type
    if root_type is None:
        return None
    try:
        fields = _selection_plan(chosen[0].selection_set, root_type)
    except _GiveUp:
        return None
    return Plan(chosen[0], root_type, fields)


def _selection_plan(selection_set: Any, parent_type: GraphQLObjectType) -> tuple[FieldPlan, ...]:
    plans: list[FieldPlan] = []
    keys: set[str] = set()
    for selection in selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives:
            raise _GiveUp
        key = selection.alias.value if selection.alias else selection.name.value
        if key in keys:
            raise _GiveUp  # merged fields: left to graphql-core
        keys.add(key)
        plans.append(_field_plan(selection, key, parent_type))
    return tuple(plans)


def _field_plan(node: FieldNode, key: str, parent_type: GraphQLObjectType) -> FieldPlan:
    name = node.name.value
    if name == "__typename":
        if node.selection_set or node.arguments:
            raise _GiveUp
        typename = parent_type.name
        return FieldPlan(key, node, None, parent_type, lambda _source: typename, _as_it_is)
    if name.startswith("__"):
        raise _GiveUp  # introspection
    field = parent_type.fields.get(name)
    if field is None:
        raise _GiveUp
    direct = _direct_resolver(field, node)
    return FieldPlan(key, node, field, parent_type, direct, _completer(field.type, node))


def _as_it_is(value: Any, run: _Run, path: Path) -> Any:
    return value


def _direct_resolver(field: GraphQLField, node: FieldNode) -> Callable[[Any], Any] | None:
    """A resolver taking the source alone, when the field's needs nothing else (no arguments, no
    `info`): an attribute read, or a method of the source's type taking only `self`."""
    definition = (field.extensions or {}).get(STRAWBERRY_FIELD)
    if definition is None or field.args or node.arguments or definition.extensions:
        return None
    resolver = definition.base_resolver
    if resolver is None:
        read, name = definition.default_resolver, definition.python_name
        return lambda source: read(source, name)
    if (
        resolver.is_async
        or resolver.arguments
        or resolver.info_parameter is not None
        or resolver.root_parameter is not None
        or resolver.parent_parameter is not None
        or resolver.self_parameter is None
    ):
        return None
    function = resolver.wrapped_func
    return function  # type: ignore[no-any-return]


def _completer(type_: GraphQLOutputType, node: FieldNode) -> Completer:
    """How to complete a value of `type_` (GraphQL's CompleteValue, the happy path only)."""
    if isinstance(type_, GraphQLNonNull):
        inner = _completer(type_.of_type, node)

        def non_null(value: Any, run: _Run, path: Path) -> Any:
            completed = inner(value, run, path)
            if completed is None:
                raise _GiveUp
            return completed

        return non_null
    if isinstance(type_, GraphQLList):
        item = _completer(type_.of_type, node)

        def listed(value: Any, run: _Run, path: Path) -> Any:
            if value is None:
                return None
            if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
                raise _GiveUp
            return [item(entry, run, path.add_key(index)) for index, entry in enumerate(value)]

        return listed
    if is_leaf_type(type_):
        serialize = type_.serialize

        def leaf(value: Any, run: _Run, path: Path) -> Any:
            if value is None:
                return None
            serialized = serialize(value)
            if serialized is None or serialized is Undefined:
                raise _GiveUp
            return serialized

        return leaf
    if not isinstance(type_, GraphQLObjectType) or node.selection_set is None:
        raise _GiveUp  # abstract types: left to graphql-core
    fields = _selection_plan(node.selection_set, type_)
    is_type_of = type_.is_type_of
    object_type = type_

    def obj(value: Any, run: _Run, path: Path) -> Any:
        if value is None:
            return None
        if is_type_of is not None and not is_type_of(value, _info(run, fields[0], path)):
            raise _GiveUp
        return _execute_fields(fields, value, run, path, object_type)

    return obj


def _execute_fields(
    fields: tuple[FieldPlan, ...], source: Any, run: _Run, path: Path | None, type_: GraphQLObjectType
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    typename = type_.name
    for plan in fields:
        field_path = Path(path, plan.key, typename)
        if plan.direct is not None:
            value = plan.direct(source)
        else:
            assert plan.field is not None
            resolve = plan.field.resolve
            if resolve is None:
                raise _GiveUp
            arguments = get_argument_values(plan.field, plan.node, run.variables)
            value = resolve(source, _info(run, plan, field_path), **arguments)
        if run.is_awaitable(value):
            close = getattr(value, "close", None)
            if close is not None:
                close()
            raise _GiveUp
        result[plan.key] = plan.complete(value, run, field_path)
    return result


def _info(run: _Run, plan: FieldPlan, path: Path) -> Any:
    """The resolve info strawberry's executor would give this field's resolver."""
    field = plan.field
    return _OperationContextAwareGraphQLResolveInfo(
        plan.node.name.value,
        [plan.node],
        field.type if field is not None else None,  # type: ignore[arg-type]
        plan.parent_type,
        path,
        run.schema,
        {},
        None,
        run.operation,
        run.coerced,
        run.context,
        run.is_awaitable,
        None,
        None,
        None,  # type: ignore[arg-type]  # no operation extensions: strawberry passes None too
    )


def run_plan(
    plan: Plan,
    schema: GraphQLSchema,
    variables: dict[str, Any] | None,
    context: Any,
    is_awaitable: Callable[[Any], bool],
) -> dict[str, Any] | None:
    """The `data` of executing `plan` with `variables`, or None when graphql-core must execute the
    document instead (see the module's docstring)."""
    coerced = get_variable_values(schema, plan.operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        return None  # the variables' errors: graphql-core reports them
    run = _Run(schema, plan.operation, coerced, coerced.coerced, context, is_awaitable)
    try:
        return _execute_fields(plan.fields, None, run, None, plan.root_type)
    except Exception:  # noqa: BLE001 - any failure: graphql-core runs it and reports it
        return None
