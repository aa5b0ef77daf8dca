"""graph-service: the system of record and query service for the four-level social-work station network."""

__version__ = "0.1.0"
