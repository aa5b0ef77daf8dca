"""The service layer: the use cases (writes, imports) with their access checks (`services.py`, over
`base.py`, `station_writes.py`, `importing.py`, `auditing.py`), the read model the entry points read
through (`views.py`, with the one-version-per-request `consistent()`), tokens and principals
(`auth.py`), the errors entry points map (`errors.py`), keeping the engine level with the store
(`syncing.py`: the one place that asks the store for versions and changes and feeds the engine),
following other processes' writes (`following.py`), the preview of an edition of the division table
(`editions.py`) and the settings (`settings.py`, the one module that reads the environment, through
its typed `Config` reader).

May import: the engine, the ports (`graph_service.ports`) and the domain; never an adapter or an
entry point. It is handed its store by `graph_service.bootstrap`.
"""
