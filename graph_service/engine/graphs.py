"""Helpers on the engine's networkx graph: filling it in bulk, a division's starting attributes, the
collector paused while it grows, and the one walk down the division tree."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, cast

import networkx as nx

from graph_service.domain.levels import COVERAGE_LEVELS, DivisionLevel
from graph_service.domain.model import Division, Station
from graph_service.engine.daily import Span, validity_deltas
from graph_service.engine.timeline import Timeline
from graph_service.engine.values import Attributes, Links, Node

UNIT_TOTALS = {level: tuple(int(level is counted) for counted in COVERAGE_LEVELS) for level in DivisionLevel}


RANK = {level: level.rank for level in DivisionLevel}


@contextmanager
def collector_paused(*, freeze: bool = True) -> Iterator[None]:
    """Pause the cyclic garbage collector: a build allocates millions of small containers and frees
    none, and the collector would rescan the growing heap again and again for nothing. What is left
    afterwards is frozen (`gc.freeze`: never scanned again), so no later collection, on whatever
    thread, pauses the process for a full pass over the network (over a second at national scale).
    With `freeze` false nothing is frozen: for a block that keeps little of what it allocates (a
    frozen cycle of garbage is never freed)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if collecting:
            gc.enable()


class GraphDicts(Protocol):
    """The dicts behind a networkx DiGraph: node -> attributes, and node -> successors or
    predecessors. networkx keeps them private, so its type stubs do not declare them."""

    _node: dict[Node, Attributes]
    _succ: dict[Node, Links]
    _pred: dict[Node, Links]


def graph_dicts(graph: nx.DiGraph[Node]) -> GraphDicts:
    """`graph`'s own dicts (the same objects, typed), for reading and filling them directly as
    networkx's own algorithms do on hot paths."""
    return cast(GraphDicts, graph)


def add_nodes_in_bulk(graph: nx.DiGraph[Node], attributes: Mapping[Node, Attributes]) -> None:
    """Add new nodes with their attribute dicts (taken over, not copied)."""
    dicts = graph_dicts(graph)
    dicts._node.update(attributes)
    dicts._succ.update({node: {} for node in attributes})
    dicts._pred.update({node: {} for node in attributes})


def add_edges_in_bulk(graph: nx.DiGraph[Node], edges: Iterable[tuple[Node, Node]]) -> None:
    """Add edges between nodes that already exist, without data."""
    dicts = graph_dicts(graph)
    succ, pred = dicts._succ, dicts._pred
    for tail, head in edges:
        data: Attributes = {}
        succ[tail][head] = data
        pred[head][tail] = data


ZERO_TOTALS = (0,) * len(COVERAGE_LEVELS)


def static_totals(division: Division) -> tuple[int, ...]:
    """What a division alone adds to the `totals` of its subtree: itself at its level when it is
    valid from the start (spec §6), else nothing (its `validity_deltas` count it from its first day)."""
    return UNIT_TOTALS[division.level] if division.valid_from is None else ZERO_TOTALS


def division_attributes(division: Division) -> Attributes:
    """The attributes of a division's node before anything is attached below it."""
    deltas = validity_deltas(division, +1)
    timeline = None
    if deltas:
        timeline = Timeline()
        for day, delta in deltas:
            timeline.add(day, delta)
    return {"division": division, "totals": static_totals(division), "timeline": timeline}


def note_visits(
    nodes: Mapping[Any, dict[str, Any]], station: Station, spans: Sequence[Span], sign: int
) -> None:
    """Note (+1) or forget (-1) `station` in the `visiting` set of each division other than its own
    that it counts in on some days (`spans`; spec §6: where it sat before a move, or its division's
    predecessor): the stations that division's coverage is made of, beside those sitting in it."""
    for code in {code for code, _, _ in spans}:
        if code == station.division_code or code not in nodes:
            continue
        visiting: set[str] | None = nodes[code].get("visiting")
        if sign > 0:
            if visiting is None:
                visiting = nodes[code]["visiting"] = set()
            visiting.add(station.id)
        elif visiting is not None:
            visiting.discard(station.id)


def note_reporting(reporters: dict[str, set[str]], station: Station, sign: int) -> None:
    """Note (+1) or forget (-1) `station` under each station its dated reporting history names
    (`reporters`: parent id -> the ids of the stations with a dated line to it; spec §6, lines an
    edition changed): the stations that may report to it on some day, beside those whose latest parent
    it is. A station with no dated history is in no set."""
    for parent_id in {line.parent_id for line in station.reporting_lines}:
        if parent_id is None:
            continue
        if sign > 0:
            reporters.setdefault(parent_id, set()).add(station.id)
        elif (ids := reporters.get(parent_id)) is not None:
            ids.discard(station.id)
            if not ids:
                del reporters[parent_id]


def sum_totals(left: tuple[int, ...], right: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(a + b for a, b in zip(left, right, strict=True))


def walk_down(pred: dict[Node, Links], starts: Iterable[str], visit: Callable[[str], bool]) -> None:
    """Visit the divisions at or below the codes `starts`, depth first in no set order, going below a
    division only when `visit(code)` returns True (`pred`: the graph's node -> {child or station:
    edge data}). The one walk down the division tree: every subtree search of the engine uses it."""
    stack = list(starts)
    while stack:
        code = stack.pop()
        if visit(code):
            stack.extend([node for node in pred[code] if node.__class__ is str])
