"""Applying many written stations at once: prepared beside the live aggregates (costing about what
building them does), then swapped in under the lock in one short step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import add

from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Station
from graph_service.engine.columnar import DivisionChanges, timelines_in_bulk
from graph_service.engine.daily import (
    Span,
    add_full,
    add_station_days,
    coverage_changes,
    station_spans,
    with_changes,
)
from graph_service.engine.graphs import RANK, add_edges_in_bulk, graph_dicts, note_reporting
from graph_service.engine.state import EngineState
from graph_service.engine.timeline import (
    CERTIFIED_STAFF,
    COVERED_COLUMN,
    STAFF,
    STATION_COLUMN,
    VOLUNTEERS,
    WIDTH,
    Timeline,
)
from graph_service.engine.values import Attributes, Links, Node, station_node


class BulkApplying(EngineState):
    """The bulk path of `apply`: prepare without `lock`, swap in under it."""

    def _prepare_stations(self, stations: Sequence[Station]) -> PreparedStations:
        """The new records (as graph entries) and the new timelines of every division they affect,
        computed from the live graph without changing it (callers hold `updating`, so nothing else
        changes it).

        Costs about what building those stations does: one pass over the stations, one per division
        they sit in or leave (its own per-day changes, coverage included), then one pass per level,
        bottom-up, in which each affected division's new timeline is made once (its old one plus its
        changes) and its changes handed to its parent (taken over whole by a parent that has no
        others, else merged day by day)."""
        latest = {station.id: station for station in stations}
        nodes, pred = self._node, self._pred
        arriving: dict[str, list[Station]] = {}
        leaving: dict[str, list[Station]] = {}
        # The graph entries of new stations, ready to be dropped in: attributes, out-links (to the
        # division and the parent) and empty in-links, and the in-links they add to their division
        # and parent. Rewritten stations are relinked under the lock.
        new_nodes: dict[Node, Attributes] = {}
        new_pred: dict[Node, Links] = {}
        rewritten: list[tuple[Node, Station]] = []
        dated_lines: list[Station] = []  # new stations with a dated reporting history (spec §6)
        for station in latest.values():
            node: Node = ("station", station.id)  # station_node(), inline: this loop runs once per row
            data = nodes.get(node)
            if data is None:
                new_nodes[node] = {"station": station}
                new_pred[node] = {}
                if station.reporting_lines:
                    dated_lines.append(station)
            else:
                old: Station = data["station"]
                if (gone := leaving.get(old.division_code)) is None:
                    leaving[old.division_code] = [old]
                else:
                    gone.append(old)
                rewritten.append((node, station))
            if (members := arriving.get(station.division_code)) is None:
                arriving[station.division_code] = [station]
            else:
                members.append(station)
        changes = _own_changes(nodes, pred, arriving, leaving, latest)
        timelines = timelines_in_bulk(nodes, changes)
        if timelines is None:  # a total that may not fit 64 bits: the exact way, in Python integers
            timelines = _timelines_with(nodes, changes.as_dicts())
        new_succ: dict[Node, Links] = {}
        back_links: list[tuple[Links, Node, Attributes]] = []
        for node, attributes in new_nodes.items():
            station = attributes["station"]
            out = new_succ[node] = {station.division_code: {}}
            back_links.append((pred[station.division_code], node, out[station.division_code]))
            if station.parent_id is not None:
                parent = station_node(station.parent_id)
                out[parent] = {}
                back_links.append(
                    (new_pred[parent] if parent in new_pred else pred[parent], node, out[parent])
                )
        return PreparedStations(new_nodes, new_succ, new_pred, back_links, rewritten, dated_lines, timelines)

    def _swap_in(self, prepared: PreparedStations) -> None:
        """Put prepared stations and timelines into the graph (callers hold `lock`): a few dict
        updates and one pass over the links and timelines, no computing."""
        nodes, succ, pred = self._node, graph_dicts(self.graph)._succ, self._pred
        nodes.update(prepared.new_nodes)
        succ.update(prepared.new_succ)
        pred.update(prepared.new_pred)
        for into, node, data in prepared.back_links:
            into[node] = data
        links: list[tuple[Node, Node]] = []
        reporters = self._reporters
        for station in prepared.dated_lines:
            note_reporting(reporters, station, +1)
        for node, station in prepared.rewritten:
            if (old := nodes[node]["station"]).reporting_lines or station.reporting_lines:
                note_reporting(reporters, old, -1)
                note_reporting(reporters, station, +1)
            nodes[node]["station"] = station
            out = succ[node]
            for head in out:
                del pred[head][node]
            out.clear()
            links.append((node, station.division_code))
            if station.parent_id is not None:
                links.append((node, station_node(station.parent_id)))
        add_edges_in_bulk(self.graph, links)
        for data, timeline in prepared.timelines:
            data["timeline"] = timeline


@dataclass(frozen=True, slots=True)
class PreparedStations:
    """Stations ready to go into the graph (new nodes with their attributes and links, and the links
    to add to the nodes they point at; rewritten ones; the new ones with a dated reporting history),
    and the new timeline for the attributes of every division they affect."""

    new_nodes: dict[Node, Attributes]
    new_succ: dict[Node, Links]
    new_pred: dict[Node, Links]
    back_links: list[tuple[Links, Node, Attributes]]
    rewritten: list[tuple[Node, Station]]
    dated_lines: list[Station]
    timelines: list[tuple[Attributes, Timeline | None]]


def _own_changes(
    nodes: dict[Node, Attributes],
    pred: dict[Node, Links],
    arriving: Mapping[str, list[Station]],
    leaving: Mapping[str, list[Station]],
    latest: Mapping[str, Station],
) -> DivisionChanges:
    """The full-width per-day changes of each division that stations arrive in or leave, coverage
    included: what the stations bring and take away, and the days the division starts and stops
    being covered (its new members against its old ones)."""
    collected = DivisionChanges()

    def spans(station: Station) -> Sequence[Span]:
        """The spans a station is counted by: kept on its node (spec §6: moved, or counting in a
        predecessor; never one of the stations written here, see `Applying._any_split`), else its own."""
        kept = nodes.get(("station", station.id), {}).get("spans")
        return kept if kept is not None else station_spans(station)

    # The divisions in the order the stations came in (not a set's): an import's rows come sorted, so
    # their divisions' nodes, loaded in the same order, lie near each other in memory. At national
    # scale that made this pass and the timelines after it 15% faster.
    only_leaving: list[tuple[str, list[Station]]] = [(code, []) for code in leaving.keys() - arriving.keys()]
    for code, coming in (*arriving.items(), *only_leaving):
        going = leaving.get(code) if leaving else None
        data = nodes[code]
        division = data["division"]
        column = COVERED_COLUMN[division.level]
        linked = pred[code]
        if (
            going is None
            and len(coming) == 1
            and division.valid_from is None
            and division.valid_to is None
            and (not linked or not any(n.__class__ is tuple for n in linked))
        ):
            # The commonest case: a division's first station, covering it while it is open.
            only = coming[0]
            if only.opened_on is not None:
                row = [0] * WIDTH
                row[STATION_COLUMN[only.level]] = 1
                row[STAFF], row[CERTIFIED_STAFF] = only.staff, only.certified_staff
                row[VOLUNTEERS] = only.volunteers
                row[column] = 1
                opened = only.opened_on.toordinal()
                closed = only.closed_on.toordinal() if only.closed_on is not None else None
                timeline = data["timeline"]
                if (
                    not linked
                    and (timeline is None or not len(timeline))
                    and "visiting" not in data
                    and (closed is None or closed > opened)
                ):  # and nothing below it (a village room's village): its timeline is the station's
                    collected.add_leaf(data, division.parent_code, opened, closed, row)
                    continue
                position = collected.position(code, data)
                collected.add(position, opened, row)
                if closed is not None:
                    collected.add(position, closed, [-n for n in row])
            continue
        changes: dict[int, list[int]] = {}
        for station in coming:
            add_station_days(changes, station, +1)
        for station in going or ():
            add_station_days(changes, station, -1)
        here = [nodes[n]["station"] for n in linked if n.__class__ is tuple]
        here += [nodes[("station", i)]["station"] for i in sorted(data.get("visiting", ()))]
        covering = coverage_changes([s for s in here if s.id not in latest] + coming, division, spans)
        covering.subtract(coverage_changes(here, division, spans))
        for day, n in covering.items():
            if n:
                add_full(changes, day, ((column, n),))
        collected.add_all(code, data, changes)
    return collected


def _timelines_with(
    nodes: dict[Node, Attributes], changes_of: dict[str, tuple[Attributes, dict[int, list[int]]]]
) -> list[tuple[Attributes, Timeline | None]]:
    """The new timeline of every division with changes and of every division above one, bottom-up
    one level at a time: a division's changes are complete once its children's are in, so its new
    timeline is made once, then its changes go to its parent (taken over whole when the parent has
    none yet: from here on no row is changed in place, only replaced). `changes_of` (code -> node
    attributes and changes) is used up. Each node is looked up once: at national scale the node
    dict is large enough for every lookup to cost a trip to memory."""
    by_rank: list[list[tuple[Attributes, dict[int, list[int]]]]] = [[] for _ in DivisionLevel]
    for own in changes_of.values():
        by_rank[RANK[own[0]["division"].level]].append(own)
    timelines: list[tuple[Attributes, Timeline | None]] = []
    for rank in reversed(range(len(by_rank))):
        for data, changes in by_rank[rank]:
            timelines.append((data, with_changes(data["timeline"], changes)))
            parent_code = data["division"].parent_code
            if parent_code is None:
                continue
            entry = changes_of.get(parent_code)
            if entry is None:
                parent = nodes[parent_code]
                entry = changes_of[parent_code] = (parent, changes)
                by_rank[RANK[parent["division"].level]].append(entry)
            else:
                into = entry[1]
                for day, row in changes.items():
                    existing = into.get(day)
                    into[day] = row if existing is None else list(map(add, existing, row))
    return timelines
