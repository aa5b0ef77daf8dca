"""Integration tests: the stores (SQLite and Neo4j) against their contract, and how they fail."""
