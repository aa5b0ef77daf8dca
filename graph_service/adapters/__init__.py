"""Adapters: the stores, SQLite (embedded, the default) and Neo4j, implementing the store protocol of
`graph_service.ports`, with what they share (row conversion, batched writes with progress) and the
Neo4j schema (`neo4j.cypher`).

May import: the ports and the domain; never the engine, the service layer or the entry points.
`graph_service.bootstrap` is the only module that picks and builds one (tests and benchmarks aside).

- `sqlite_store` (the `Store`), `sqlite_schema` (tables, migrations, write statements), `sqlite_writes`
  (division and station writes), `sqlite_reads` (the network, changes since a version, a write's basis),
  `sqlite_audit` (the audit trail), `sqlite_editions` (the edition history), `sqlite_errors` (messages);
- `neo4j_store` (the `Store`; the model), `neo4j_transactions` (the driver, transactions, the write
  lock), `neo4j_connection` (URLs, errors, retries), `neo4j_cypher` (the statements), `neo4j_rows`
  (write order, station rows), `neo4j_writes` (division and station writes), `neo4j_reads` (changes
  since a version, a write's basis), `neo4j_audit` (the audit trail), `neo4j_editions` (the edition
  history);
- shared by both: `rows` (stored rows back into records), `batching` (batched writes with progress,
  the version-conflict check). Station columns derive from `graph_service.domain.station_fields`.
"""
