"""The service layer: the use cases (writes, imports) with their access checks (`services.py`, over
`base.py`, `station_writes.py`, `importing.py`, `auditing.py`), the read model the entry points read
through (`views.py`), settings (`settings.py`, the one module that reads the environment), auth,
errors, keeping the engine level with the store (`syncing.py`: the one place that asks the store for
versions and changes and feeds the engine) and following other processes' writes (`following.py`).

May import the engine, the ports (`graph_service.ports`) and the domain, never an adapter or an entry
point: it is handed its store by `graph_service.bootstrap`.
"""
