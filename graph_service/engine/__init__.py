"""The networkx engine: the whole network in memory, with coverage and roll-ups kept current."""

from graph_service.engine.network import (
    EngineLoadError,
    LevelCoverage,
    NetworkEngine,
    Page,
    Rollup,
)

__all__ = ["EngineLoadError", "LevelCoverage", "NetworkEngine", "Page", "Rollup"]
