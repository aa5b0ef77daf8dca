"""The engine: the whole network in memory (networkx), with per-subtree timelines answering coverage,
roll-ups and uncovered lists for any date (spec §3), kept current by applying changes.

May import: the domain and the ports (`graph_service.ports`); never an adapter, the service layer or
the entry points. Used by the service layer and the composition root; entry points see only its value
types and errors, never a `NetworkEngine` or its lock.
"""

from graph_service.engine.network import (
    EngineLoadError,
    LevelCoverage,
    NetworkEngine,
    Page,
    Rollup,
)

__all__ = ["EngineLoadError", "LevelCoverage", "NetworkEngine", "Page", "Rollup"]
