"""What every part of the engine works on: the graph, its locks and the bookkeeping kept beside it.

`EngineState` is the base of the engine's parts (`building`, `queries`, `limits`, `applying`,
`bulk`), which `network.NetworkEngine` puts together.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import networkx as nx

from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division, Station
from graph_service.engine.daily import Span, counted_spans, station_spans
from graph_service.engine.graphs import graph_dicts
from graph_service.engine.values import Node, StoredProblem

if TYPE_CHECKING:
    from graph_service.engine.bulk import PreparedStations


class EngineState:
    """The graph (see `network` for its layout), the locks, and what is kept beside the graph.

    Locks: every public read takes `lock` (hold it across several reads to see one version). Updates
    take `updating` first (one updater at a time), prepare the new aggregates while readers go on,
    and take `lock` only to swap them in. Never take `updating` while holding `lock`. `catching_up` is
    held by whoever reads and applies another process's writes (see `syncing`), so that two threads
    never both do it: taken before `updating`, never while holding it or `lock`.
    """

    def __init__(self) -> None:
        self.graph = nx.DiGraph()
        self.version = 0
        self.lock = threading.RLock()
        self.updating = threading.RLock()
        self.catching_up = threading.RLock()
        self._names: Any = None  # the name index of `search` (`queries.NameIndex`), made when first asked
        # Recently asked uncovered lists, (code, level, day) -> sorted codes, oldest first; emptied on writes.
        self._uncovered_lists: dict[tuple[str, DivisionLevel, date], list[str]] = {}
        # level -> division code -> the lowest code of that level below it (`Queries._lowest_code`);
        # emptied when the divisions change.
        self._lowest_codes: dict[DivisionLevel, dict[str, str | None]] = {}
        self._loading_divisions: list[Division] = []
        self._loading_stations: list[Station] = []
        self._root_peaks: list[int] | None = None  # the largest total of each column at any root
        self._peaks_exact = False  # whether `_root_peaks` was measured since the last write
        self._stale = False  # a change failed half way and no rebuild has succeeded since
        # (the problems list it was made from, station id -> stored version) of the stations left out
        self._left_out_versions: tuple[list[StoredProblem], dict[str, int]] | None = None
        self._roots: list[str] | None = None  # the codes of the divisions with no parent
        # What `_build` kept (divisions by rank, stations) while their aggregates wait to be built
        # (`Building.build_aggregates`); None once built, as after every full build.
        self._unbuilt: tuple[list[list[Division]], list[Station]] | None = None
        self.is_part = False
        """Whether it holds only part of the network (`NetworkEngine.load_part`)."""
        self.problems: list[StoredProblem] = []
        """The stored records left out at the last load, and why (empty for a sound store)."""
        self.catch_up_cpu: dict[str, float] = {}
        """CPU seconds of the phases of the last `apply` (prepare, swap: those of a bulk one)."""

    @property
    def graph(self) -> nx.DiGraph[Node]:
        return self._graph

    @graph.setter
    def graph(self, graph: nx.DiGraph[Node]) -> None:
        self._graph = graph
        # networkx's own algorithms read these dicts directly on hot paths; so do we: node -> attributes,
        # and node -> {child or station: edge data}.
        self._node = graph_dicts(graph)._node
        self._pred = graph_dicts(graph)._pred

    def _sat_in(self, code: str) -> list[Station]:
        """The stations that ever counted in division `code`: those sitting there now, and those
        counting there on some days only (its `visiting` set, spec §6: moved away by an edition, or
        sitting in a division it preceded)."""
        node = self._node[code]
        here = [self._node[n]["station"] for n in self._pred[code] if n.__class__ is tuple]
        visiting: set[str] | None = node.get("visiting")
        if visiting:
            here += [self._node[("station", station_id)]["station"] for station_id in sorted(visiting)]
        return here

    @property
    def _predecessors(self) -> dict[str, list[str]]:
        """The successor links backwards (spec §6): new code -> the retired codes it succeeded, by
        code. Kept with the graph (swapped in with it)."""
        links: dict[str, list[str]] = self._graph.graph.setdefault("predecessors", {})
        return links

    @property
    def _successors(self) -> dict[str, list[str]]:
        """The successor links (spec §6): retired code -> its successors, in the admin's order."""
        links: dict[str, list[str]] = self._graph.graph.setdefault("successors", {})
        return links

    @property
    def _reporters(self) -> dict[str, set[str]]:
        """Station id -> the ids of the stations whose dated reporting history (spec §6) names it
        (`graphs.note_reporting`). Kept with the graph (swapped in with it)."""
        reporters: dict[str, set[str]] = self._graph.graph.setdefault("reporters", {})
        return reporters

    def _set_successors(self, successors: Mapping[str, Sequence[str]]) -> None:
        """Record the successors of retired divisions (replacing any they had) both ways."""
        forward, backward = self._successors, self._predecessors
        for old, news in successors.items():
            for new in forward.pop(old, []):
                if old in (olds := backward.get(new, [])):
                    olds.remove(old)
                if not olds:
                    backward.pop(new, None)
            if news:
                forward[old] = list(news)
            for new in news:
                backward[new] = sorted({*backward.get(new, []), old})

    def _find(self, code: str) -> Division | None:
        """The division `code` of the graph, or None."""
        data = self._node.get(code)
        return data["division"] if data is not None else None

    def _counted_spans(self, station: Station) -> list[Span]:
        """Where `station` counts, day by day (`daily.counted_spans`, over the graph's links)."""
        return counted_spans(station, self._find, self._predecessors)

    def _spans_of(self, station: Station) -> Sequence[Span]:
        """The spans the graph counts `station` by: those kept on its node when they are not its
        plain `station_spans` (moved, or counting in a predecessor), else those."""
        data = self._node.get(("station", station.id))
        kept = data.get("spans") if data is not None else None
        return kept if kept is not None else station_spans(station)

    def _check_built(self) -> None:
        """Refuse to answer from aggregates that were left unbuilt (an engine loaded only to check
        writes against, `NetworkEngine.load(..., aggregates=False)`)."""
        if self._unbuilt is not None:
            raise RuntimeError("this engine was loaded without its aggregates: it answers no coverage")

    # Building what a load left unbuilt (defined in `building`, used by `limits` and `applying`).

    def build_aggregates(self) -> None:
        raise NotImplementedError

    # The lookups every part uses (defined in `queries`).

    def division(self, code: str) -> Division | None:
        raise NotImplementedError

    def station(self, station_id: str) -> Station | None:
        raise NotImplementedError

    def stations_reporting_to(self, station_id: str, day: date | None = None) -> list[Station]:
        raise NotImplementedError

    def stations_below(self, code: str) -> list[Station]:
        raise NotImplementedError

    def _ancestor_codes(self, code: str) -> list[str]:
        raise NotImplementedError

    # The bulk path of `apply` (defined in `bulk`, used by `applying`).

    def _prepare_stations(self, stations: Sequence[Station]) -> PreparedStations:
        raise NotImplementedError

    def _swap_in(self, prepared: PreparedStations) -> None:
        raise NotImplementedError
