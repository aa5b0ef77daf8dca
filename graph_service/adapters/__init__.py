"""Adapters: the stores behind one protocol (`graph_service.adapters.store.Store`)."""
