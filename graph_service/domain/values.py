"""The value rules of spec §7, one place for each, used by every path (CSV, GraphQL, CLI, the engine's
load): names, ids and codes, references, counts, the years of dates, roll-up sums."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date

from graph_service.domain.station_fields import FIELDS_BY_NAME, MAX_COUNT

MAX_SUM = 2_147_483_647
"""Largest roll-up sum or count (GraphQL's `Int`): a write that would make one larger is refused."""
MAX_NAME_LENGTH = 200
MAX_ID_LENGTH = 64
FIRST_YEAR, LAST_YEAR = 1900, 2100
_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]+")
_NOT_TEXT = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def name_problem(name: str) -> str | None:
    """Why `name` (already trimmed) is not a valid name (spec §7), or None when it is."""
    if not name or not name.strip():
        return "name is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"name is {len(name):,} characters long; at most {MAX_NAME_LENGTH} are allowed"
    return _not_text_problem("name", name)


def code_problem(column: str, value: str) -> str | None:
    """Why `value` is not a valid station id or division code (spec §7: 1..64 characters of
    A-Z a-z 0-9 . _ : -), or None when it is."""
    if not value:
        return f"{column} is empty"
    if len(value) > MAX_ID_LENGTH:
        return f"{column} is {len(value):,} characters long; at most {MAX_ID_LENGTH} are allowed"
    if _ID_PATTERN.fullmatch(value) is None:
        bad = next(char for char in value if _ID_PATTERN.fullmatch(char) is None)
        return f"{column} may hold only A-Z a-z 0-9 . _ : - (found {_describe(bad)})"
    return None


def reference_problem(column: str, value: str) -> str | None:
    """Why `value`, which names another record (a division code, a parent id), cannot be one: it is
    longer than any id, or holds a character no id holds that would not even print; None otherwise."""
    if len(value) > MAX_ID_LENGTH:
        return f"{column} is {len(value):,} characters long; no id or code is longer than {MAX_ID_LENGTH}"
    return _not_text_problem(column, value)


def count_problem(column: str, value: int) -> str | None:
    """Why `value` is not a valid count for the station field `column` (staff, certified_staff,
    volunteers: 0..its `maximum`, `MAX_COUNT` unless the field says otherwise), or None when it is."""
    field = FIELDS_BY_NAME.get(column)
    largest = field.maximum if field is not None and field.maximum is not None else MAX_COUNT
    if not 0 <= value <= largest:
        return f"{column} must be a whole number from 0 to {largest:,}, not {value:,}"
    return None


def date_problem(column: str, value: date) -> str | None:
    """Why `value` is outside the years the service accepts (spec §7), or None when it is inside."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        return f"{column} {value.isoformat()} is outside the years {FIRST_YEAR}..{LAST_YEAR}"
    return None


def all_codes_valid(values: Iterable[str]) -> bool:
    """True only when `code_problem` finds nothing in any of `values`: one fast pass for a whole load
    (False means: look at them one by one)."""
    return _all_fit(values, 1, MAX_ID_LENGTH, lambda text: _ID_PATTERN.fullmatch(text) is not None)


def all_names_valid(names: Iterable[str]) -> bool:
    """True only when `name_problem` finds nothing in any of `names` (as `all_codes_valid`)."""
    return _all_fit(names, 1, MAX_NAME_LENGTH, _is_plain_text, each=str.strip)


def all_references_valid(values: Iterable[str]) -> bool:
    """True only when `reference_problem` finds nothing in any of `values` (as `all_codes_valid`)."""
    return _all_fit(values, 0, MAX_ID_LENGTH, _is_plain_text)


def _all_fit(
    values: Iterable[str],
    shortest: int,
    longest: int,
    joined_ok: Callable[[str], bool],
    each: Callable[[str], object] | None = None,
) -> bool:
    """True when every one of `values` is `shortest`..`longest` characters long, `joined_ok` holds for
    all of them joined into one text, and `each` (when given) is truthy for each of them."""
    values = list(values)
    if not values:
        return True
    lengths = list(map(len, values))
    return (
        min(lengths) >= shortest
        and max(lengths) <= longest
        and (each is None or all(map(each, values)))
        and joined_ok("".join(values))
    )


def _is_plain_text(text: str) -> bool:
    """True when `text` holds no control character and no lone surrogate."""
    return _NOT_TEXT.search(text) is None


def _not_text_problem(column: str, value: str) -> str | None:
    """Why `value` is not plain text: a control character or a lone surrogate (None when it is)."""
    found = _NOT_TEXT.search(value)
    if found is None:
        return None
    kind = "a lone surrogate" if "\ud800" <= found.group() <= "\udfff" else "a control character"
    return f"{column} holds {kind} ({_describe(found.group())}) at position {found.start() + 1}"


def _describe(char: str) -> str:
    return f"U+{ord(char):04X}" if _NOT_TEXT.fullmatch(char) or char.isspace() else repr(char)


def shown(text: str, limit: int = 40) -> str:
    """`text` for a message: quoted, escaped, cut short."""
    return repr(text if len(text) <= limit else text[:limit] + "…")
