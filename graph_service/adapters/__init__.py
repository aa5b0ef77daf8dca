"""Adapters: the stores, SQLite (embedded, the default) and Neo4j, implementing the store protocol of
`graph_service.ports`, with what they share (row conversion, batched writes with progress) and the
Neo4j schema (`neo4j.cypher`).

May import: the ports and the domain; never the engine, the service layer or the entry points.
`graph_service.bootstrap` is the only module that picks and builds one (tests and benchmarks aside).

- `sqlite_store` (the `Store`), `sqlite_schema` (tables, migrations, write statements), `sqlite_audit`
  (audit trail reads);
- `neo4j_store` (the `Store`), `neo4j_connection` (URLs, errors, retries), `neo4j_cypher` (the
  statements), `neo4j_rows` (write order, station rows), `neo4j_audit` (the audit trail);
- shared by both: `rows` (stored rows back into records), `batching` (batched writes with progress,
  the version-conflict check). Station columns derive from `graph_service.domain.station_fields`.
"""
