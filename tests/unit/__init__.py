"""Unit tests: the domain, the engine and the service layer, in memory (no store, no server)."""
