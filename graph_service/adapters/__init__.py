"""Adapters: the stores, SQLite (embedded, the default) and Neo4j, implementing the store protocol of
`graph_service.ports`, with what they share (row conversion, batched writes with progress) and the
Neo4j schema (`neo4j.cypher`).

May import: the ports and the domain; never the engine, the service layer or the entry points.
`graph_service.bootstrap` is the only module that picks and builds one (tests and benchmarks aside).
"""
