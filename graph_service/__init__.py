"""graph-service: the system of record and query service for the four-level social-work station network.

Dependencies point one way: entry points → service layer → engine and ports (`ports.py`) → domain;
the adapters implement the ports; `bootstrap.py`, the composition root, wires an adapter to the
service from the settings.
"""

__version__ = "0.1.0"
