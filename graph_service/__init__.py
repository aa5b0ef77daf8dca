"""graph-service: the system of record and query service for China's four-level social-work station
network (the contract is the spec; the README's Layout section maps it to the tree).

Dependencies point one way; each part may import only the parts listed before it (and itself), which
`tests/unit/test_layers.py` checks:

- `domain/`: the pure rules and value types (levels, records, validation, dates, editions, audit
  entries); no I/O, nothing else of the service.
- `ports.py`: the store protocol (`Store`, `SnapshotSink`) and its value types (`Changes`, the store
  errors); imports the domain.
- `engine/`: the network in memory, answering coverage and roll-ups; imports the domain and the ports.
- `service_layer/`: the use cases, the read model, access checks and the settings; imports the engine,
  the ports and the domain.
- `adapters/`: the stores implementing the ports (SQLite, Neo4j); import the ports and the domain only.
- `bootstrap.py`: the composition root: builds the store and the service from `Settings`; the one
  module outside `adapters/` that imports an adapter.
- `entrypoints/`: HTTP, GraphQL, the dashboard and the command line; they only translate, and get the
  service they run from `bootstrap`.
"""

__version__ = "0.1.0"
