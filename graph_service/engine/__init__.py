"""The engine: the whole network in memory (networkx), with per-subtree timelines answering coverage,
roll-ups and uncovered lists for any date (spec §3), kept current by applying changes.

Plain data in (`NetworkEngine.load` of a `Snapshot`, `from_records`, `apply` of `Changes`), answers
out; it never reads a store (the service layer asks the store and feeds it). May import: the domain
only; never the ports, an adapter, the service layer or the entry points. Used by the service layer
and the composition root; entry points see only its value types and errors, never a
`NetworkEngine` or its lock.
"""

from graph_service.engine.network import (
    EngineLoadError,
    LevelCoverage,
    NetworkEngine,
    Page,
    PartialNetwork,
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
    "PartialNetwork",
    "Rollup",
    "Snapshot",
    "StoredProblem",
    "SumExcess",
    "collector_paused",
    "page_of",
]
