"""Adapters: the stores (SQLite, Neo4j) implementing the store protocol of `graph_service.ports`.

They may import the ports and the domain, never the engine, the service layer or the entry points;
`graph_service.bootstrap` is the only module that picks and builds one.
"""
