"""The store contract: every store (SQLite, Neo4j, and the unit tests' in-memory fake) against the
protocol of graph_service/ports.py; and what is particular to each real store."""
