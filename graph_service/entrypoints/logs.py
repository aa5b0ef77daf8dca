"""The service's own log lines on a server's standard error, beside uvicorn's and in their format
("INFO:     ..."): catch-ups with their times (`following`), a store that stops or starts
answering, failed writes."""

from __future__ import annotations

import logging

SERVICE_LOGGER = "graph_service"
_FORMAT = "%(levelname)-9s %(name)s: %(message)s"


def log_to_stderr(level: int = logging.INFO) -> None:
    """Send the service's records of `level` and above to standard error (once per process: calling
    again changes only the level)."""
    logger = logging.getLogger(SERVICE_LOGGER)
    logger.setLevel(level)
    if not any(getattr(handler, "_graph_service", False) for handler in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler._graph_service = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
