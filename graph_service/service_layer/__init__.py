"""The service layer: the use cases (reads, writes, imports) with their access checks, and the
settings (`settings.py`, the one module that reads the environment).

May import the engine, the ports (`graph_service.ports`) and the domain, never an adapter or an entry
point: it is handed its store by `graph_service.bootstrap`.
"""
