"""The networkx engine: the whole network in memory, with coverage and roll-ups kept current.

May import the domain and the ports (`graph_service.ports`), never an adapter, the service layer or
the entry points.
"""

from graph_service.engine.network import (
    EngineLoadError,
    LevelCoverage,
    NetworkEngine,
    Page,
    Rollup,
)

__all__ = ["EngineLoadError", "LevelCoverage", "NetworkEngine", "Page", "Rollup"]
