"""The networkx engine: the whole network in memory, with coverage and roll-ups kept current.

Plain data in (`NetworkEngine.load` of a `Snapshot`, `from_records`, `apply` of `Changes`), answers
out; it never reads a store (the service layer asks the store and feeds it). May import the domain
only, never the ports, an adapter, the service layer or the entry points.
"""

from graph_service.engine.network import (
    EngineLoadError,
    LevelCoverage,
    NetworkEngine,
    Page,
    Rollup,
    Snapshot,
    StoredProblem,
    SumExcess,
    collector_paused,
)
from graph_service.engine.paging import page_of

__all__ = [
    "EngineLoadError",
    "LevelCoverage",
    "NetworkEngine",
    "Page",
    "Rollup",
    "Snapshot",
    "StoredProblem",
    "SumExcess",
    "collector_paused",
    "page_of",
]
