"""The document rules that keep validation and execution cheap whatever the document's shape:
depth, aliases and cost measured in one walk, a bounded field-merging rule, and the quick-read test."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    VariableNode,
)
from graphql.validation import OverlappingFieldsCanBeMergedRule
from graphql.validation.rules import overlapping_fields_can_be_merged as overlapping_fields

from graph_service.entrypoints.graphql.limits import MAX_ALIASES, MAX_DEPTH, MAX_PAGE_SIZE
from graph_service.service_layer.errors import BadUserInput
from graph_service.service_layer.services import MAX_TREND_POINTS

# 100 ms of CPU). Tokens are capped at parse time (MAX_TOKENS), so a document has at most a few
# thousand nodes; what can still blow up is work that expands fragments (2^30 spreads fit in 1 kB) or
# compares fields pairwise. So: one walk over the document measures depth, aliases and cost with each
# fragment measured once (`FragmentFold`), and refuses an over-limit document before GraphQL's own
# rules run; the one standard rule that compares fields pairwise runs under a comparison budget
# (`BoundedOverlappingFields`).

MAX_FIELD_COMPARISONS = 500
"""Most field pairs the field-merging rule may compare for one document (repeated fields, pages of
the same field with other arguments); GraphiQL's introspection needs none, a dashboard query a few."""

S = TypeVar("S")


class FragmentFold:
    """Folds a measure over a document's selection sets, each fragment measured once.

    `measure(selection_set, fragment_value)` computes the value of one selection set, taking the
    value of a spread fragment from `fragment_value` (already measured). Fragments are measured in
    dependency order, iteratively (a chain of hundreds of fragments does not reach Python's recursion
    limit); a spread of an unknown fragment or one that closes a cycle gets `empty` (GraphQL's
    KnownFragmentNames and NoFragmentCycles rules refuse those documents).
    """

    def __init__(self, document: DocumentNode) -> None:
        self.document = document
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.order = self._dependency_order()

    def fold(
        self, measure: Callable[[SelectionSetNode, Callable[[str], S]], S], empty: S
    ) -> Callable[[SelectionSetNode], S]:
        """The measure of any selection set of the document, fragments memoised."""
        values: dict[str, S] = {}

        def fragment_value(name: str) -> S:
            return values.get(name, empty)

        for name in self.order:
            values[name] = measure(self.fragments[name].selection_set, fragment_value)
        return lambda selection_set: measure(selection_set, fragment_value)

    def _dependency_order(self) -> list[str]:
        """The fragment names, each after the fragments it spreads (cycles broken anywhere)."""
        spreads = {name: _spread_names(d.selection_set) for name, d in self.fragments.items()}
        order: list[str] = []
        state: dict[str, int] = {}  # 1: being visited, 2: done
        for root in self.fragments:
            if root in state:
                continue
            stack = [(root, iter(spreads[root]))]
            state[root] = 1
            while stack:
                name, pending = stack[-1]
                child = next(pending, None)
                if child is None:
                    stack.pop()
                    state[name] = 2
                    order.append(name)
                elif child in self.fragments and child not in state:
                    state[child] = 1
                    stack.append((child, iter(spreads[child])))
        return order


def _spread_names(selection_set: SelectionSetNode) -> list[str]:
    """The fragments spread anywhere inside `selection_set` (not following the spreads)."""
    names: list[str] = []
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                names.append(selection.name.value)
            elif (
                isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set is not None
            ):
                pending.append(selection.selection_set)
    return names


@dataclass(frozen=True, slots=True)
class _Shape:
    depth: int
    """Nesting below the selection set: a leaf field 0, a field with fields 1 + theirs (introspection
    fields count 0, as in strawberry's QueryDepthLimiter)."""
    aliases: int
    """Aliased fields, a fragment counted once per spread."""


def _shape(selection_set: SelectionSetNode, fragment: Callable[[str], _Shape]) -> _Shape:
    depth = aliases = 0
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            inner = fragment(selection.name.value)
            depth, aliases = max(depth, inner.depth), aliases + inner.aliases
        elif isinstance(selection, InlineFragmentNode):
            inner = _shape(selection.selection_set, fragment)
            depth, aliases = max(depth, inner.depth), aliases + inner.aliases
        elif isinstance(selection, FieldNode):
            aliases += selection.alias is not None
            if selection.selection_set is not None and not selection.name.value.startswith("__"):
                inner = _shape(selection.selection_set, fragment)
                depth, aliases = max(depth, 1 + inner.depth), aliases + inner.aliases
    return _Shape(depth, aliases)


def shape_refusal(document: DocumentNode) -> str | None:
    """Why the document is too deep or has too many aliases (None when it is within the limits),
    found in one walk with each fragment measured once, so the answer costs time in proportion to the
    document's size whatever its fragments expand to."""
    shape_of = FragmentFold(document).fold(_shape, _Shape(0, 0))
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        shape = shape_of(definition.selection_set)
        name = definition.name.value if definition.name else "anonymous"
        if shape.depth > MAX_DEPTH:
            return (
                f"operation {name!r} nests fields {shape.depth} deep, over the maximum depth of {MAX_DEPTH}"
            )
        if shape.aliases > MAX_ALIASES:
            return (
                f"operation {name!r} has {shape.aliases} aliased fields (fragments counted at each "
                f"spread), over the maximum of {MAX_ALIASES}"
            )
    return None


class _ComparisonBudget(threading.local):
    """The field comparisons left to the field-merging rule running in this thread (None: no limit)."""

    remaining: int | None = None


class _OutOfComparisons(Exception):
    pass


_budget = _ComparisonBudget()
_find_conflict = overlapping_fields.find_conflict


def _counted_find_conflict(*args: Any, **kwargs: Any) -> Any:
    """graphql-core's `find_conflict` (one comparison of two fields), charged to the budget."""
    remaining = _budget.remaining
    if remaining is not None:
        if remaining <= 0:
            raise _OutOfComparisons
        _budget.remaining = remaining - 1
    return _find_conflict(*args, **kwargs)


# The rule calls `find_conflict` through its module's globals: counting there bounds the whole rule.
overlapping_fields.find_conflict = _counted_find_conflict


class BoundedOverlappingFields(OverlappingFieldsCanBeMergedRule):
    """GraphQL's OverlappingFieldsCanBeMerged rule, refusing the document (BAD_USER_INPUT) once it has
    compared MAX_FIELD_COMPARISONS pairs of fields: its work grows with the square of the fields
    that share a response name, which a few thousand tokens can make seconds long."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.remaining = MAX_FIELD_COMPARISONS
        self.exhausted = False

    def enter_selection_set(self, *args: Any) -> None:
        if self.exhausted:
            return
        _budget.remaining = self.remaining
        try:
            super().enter_selection_set(*args)
        except _OutOfComparisons:
            self.exhausted = True
            self.report_error(
                GraphQLError(
                    "the document repeats fields too often to be checked (over "
                    f"{MAX_FIELD_COMPARISONS} pairs of fields with one response name to compare); "
                    "ask for each field once per selection",
                    extensions={"code": BadUserInput.code},
                )
            )
        finally:
            self.remaining = _budget.remaining or 0
            _budget.remaining = None


def validation_rules(rules: Sequence[type[ASTValidationRule]]) -> tuple[type[ASTValidationRule], ...]:
    """`rules` with the field-merging rule replaced by its bounded version."""
    return tuple(
        BoundedOverlappingFields if rule is OverlappingFieldsCanBeMergedRule else rule for rule in rules
    )


_LIST_FACTORS: Mapping[str, int] = {"ancestors": 4, "coverage": 4, "coverageTrend": MAX_TREND_POINTS}
"""Lists without `first`, by field name, and the most items they hold."""


def estimated_cost(
    document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any] | None
) -> int:
    """An upper estimate of how many fields executing the operation resolves: every field counts once
    per item of each list it sits in, a paged list holding `first` items (default MAX_PAGE_SIZE).
    Each fragment is costed once, so the estimate takes time in proportion to the document's size."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = next(
        (op for op in operations if operation_name is None or (op.name and op.name.value == operation_name)),
        None,
    )
    if chosen is None:
        return 0
    given = variables or {}

    def cost(selection_set: SelectionSetNode, fragment: Callable[[str], int]) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                inner = cost(selection.selection_set, fragment) if selection.selection_set else 0
                total += _list_factor(selection, given) * (1 + inner)
            elif isinstance(selection, InlineFragmentNode):
                total += cost(selection.selection_set, fragment)
            elif isinstance(selection, FragmentSpreadNode):
                total += fragment(selection.name.value)
        return total

    return FragmentFold(document).fold(cost, 0)(chosen.selection_set)


@cache
def paged_fields() -> frozenset[str]:
    """The names of the fields that return a page (they take `first`), read from the schema once."""
    from graph_service.entrypoints.graphql.schema import schema  # built from these rules: read late

    return frozenset(
        name
        for graphql_type in schema._schema.type_map.values()
        if isinstance(graphql_type, GraphQLObjectType)
        for name, field in graphql_type.fields.items()
        if "first" in field.args
    )


def _list_factor(field: FieldNode, variables: Mapping[str, Any]) -> int:
    for argument in field.arguments or ():
        if argument.name.value != "first":
            continue
        value: Any = None
        if isinstance(argument.value, IntValueNode):
            value = int(argument.value.value)
        elif isinstance(argument.value, VariableNode):
            value = variables.get(argument.value.name.value)
        if isinstance(value, int) and not isinstance(value, bool):
            return min(max(value, 1), MAX_PAGE_SIZE)
        return MAX_PAGE_SIZE
    name = field.name.value
    if name in paged_fields():
        return MAX_PAGE_SIZE
    return _LIST_FACTORS.get(name, 1)


QUICK_FIELDS: frozenset[str] = frozenset(
    {
        "__typename",
        # Query: one lookup each
        "division",
        "station",
        # Division: the record, a short walk up, or one binary search in the division's timeline
        "code",
        "name",
        "level",
        "parent",
        "ancestors",
        "covered",
        "coverage",
        "rollup",
        # LevelCoverage and Rollup
        "total",
        "rate",
        "guidanceCentres",
        "generalStations",
        "townshipStations",
        "villageRooms",
        "staff",
        "certifiedStaff",
        "volunteers",
        # Station
        "id",
        "status",
        "openedOn",
        "closedOn",
        "version",
    }
)
"""The fields answered in a few microseconds whatever the network's size: a lookup, a walk up the
ancestors, or one binary search. A field that lists (pages, searches, uncovered lists) is not one."""
MAX_QUICK_COST = 500
"""The most field resolutions (`estimated_cost`) of a query that may run without a worker thread."""


def is_quick_read(document: Any, operation_name: str | None) -> bool:
    """True when the operation to run is a query whose every field is in QUICK_FIELDS and whose
    estimated cost is at most MAX_QUICK_COST: it finishes in well under a millisecond or two."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None and len(operations) != 1:
        return False
    chosen = next(
        (op for op in operations if operation_name is None or (op.name and op.name.value == operation_name)),
        None,
    )
    if chosen is None or chosen.operation.value != "query":
        return False
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    for count, name in enumerate(_field_names(chosen.selection_set, fragments, frozenset())):
        if name not in QUICK_FIELDS or count >= MAX_QUICK_COST:
            return False
    return estimated_cost(document, operation_name, None) <= MAX_QUICK_COST


def _field_names(
    selections: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode], seen: frozenset[str]
) -> Iterator[str]:
    """The names of every field selected, through fragments (an unknown fragment yields a name that
    is no field, so the caller refuses it)."""
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
            if selection.selection_set is not None:
                yield from _field_names(selection.selection_set, fragments, seen)
        elif isinstance(selection, InlineFragmentNode):
            yield from _field_names(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in seen:
                yield "..." + name
            else:
                yield from _field_names(fragment.selection_set, fragments, seen | {name})


def first_variables(document: DocumentNode) -> tuple[str, ...]:
    """The names of the variables the document passes as `first` (a page size), each once, in an order
    fixed by the document: the only variables `estimated_cost` reads."""
    names: dict[str, None] = {}
    pending: list[SelectionSetNode] = [
        d.selection_set
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)
    ]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                for argument in selection.arguments or ():
                    if argument.name.value == "first" and isinstance(argument.value, VariableNode):
                        names.setdefault(argument.value.name.value, None)
            selection_set = getattr(selection, "selection_set", None)
            if selection_set is not None:
                pending.append(selection_set)
    return tuple(names)
