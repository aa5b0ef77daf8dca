"""The command line's argument types: each turns the text of an option into its value, or raises
`argparse.ArgumentTypeError` saying what is wrong (argparse prints it; the exit status is 2)."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime

from graph_service.domain.validation import parse_date
from graph_service.service_layer.auth import parse_duration


def iso_date(text: str) -> date:
    """A day, exactly YYYY-MM-DD, years 1900..2100 (the domain's `parse_date`; spec §7)."""
    try:
        return parse_date(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def duration(text: str) -> str:
    """A duration such as 8h, checked here and kept as typed (for messages)."""
    try:
        parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return text.strip()


def since(text: str) -> datetime:
    """A moment: YYYY-MM-DD (midnight UTC) or an ISO 8601 date and time (UTC unless it names an offset)."""
    try:
        moment = iso_date(text) if len(text) == 10 else None
    except argparse.ArgumentTypeError:
        moment = None
    try:
        parsed = (
            datetime(moment.year, moment.month, moment.day)
            if moment is not None
            else datetime.fromisoformat(text)
        )
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (YYYY-MM-DD) or a date and time (e.g. 2024-05-01T08:00:00Z)"
        ) from error
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def port(text: str) -> int:
    """A TCP port number, 1 to 65535."""
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1–65535)")
    return int(text)


def workers(text: str) -> int:
    """A number of server worker processes, 1 to 64."""
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers (1–64)")
    return int(text)
