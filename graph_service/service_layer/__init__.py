"""The service layer: the use cases (writes, imports) with their access checks (`services.py`), the
read model the entry points read through (`views.py`), settings, auth, errors, and following
other processes' writes (`following.py`).

May import: the domain, the engine, and the adapters' store protocol; never the entry points."""
