"""Forward pagination in one place: opaque cursors, `first` checking, paging a sorted list, and the
generic `Connection[T]`/`Edge[T]` every paged field returns."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import strawberry

from graph_service.entrypoints.graphql.context import given
from graph_service.entrypoints.graphql.limits import MAX_PAGE_SIZE
from graph_service.service_layer.errors import BadUserInput

# --- cursors and pages ---------------------------------------------------------------------------

DIVISION_CURSOR = "division"
STATION_CURSOR = "station"
AUDIT_CURSOR = "audit"


def encode_cursor(kind: str, key: str) -> str:
    """An opaque cursor for the item with sort key `key` (a code or an id) in a list of `kind`."""
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode("ascii").rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> str | None:
    """The sort key inside `cursor` (None when no cursor was given); `BadUserInput` when it is not one
    of ours for a list of `kind`."""
    cursor = given(cursor)
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError) as error:
        raise BadUserInput(f"after: {cursor!r} is not a cursor this service issued") from error
    prefix, separator, key = text.partition(":")
    if not separator or prefix != kind or not key:
        raise BadUserInput(f"after: {cursor!r} is not a cursor of a {kind} list")
    return key


def decode_audit_cursor(cursor: str | None) -> int | None:
    """The `seq` inside an audit-trail cursor (None when no cursor was given); `BadUserInput` when it is
    not one of ours."""
    key = decode_cursor(AUDIT_CURSOR, cursor)
    if key is None:
        return None
    if not key.isdigit():
        raise BadUserInput(f"after: {cursor!r} is not a cursor of an audit entry list")
    return int(key)


def page_size(first: int | None) -> int:
    """`first` checked against 1..MAX_PAGE_SIZE (absent or null: MAX_PAGE_SIZE)."""
    first = given(first)
    if first is None:
        return MAX_PAGE_SIZE
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput(f"first must be between 1 and {MAX_PAGE_SIZE}, not {first}")
    return first


@strawberry.type(description="Where a page ends, for asking for the next one (forward pagination).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when more items follow this page.")
    end_cursor: str | None = strawberry.field(
        description="The cursor of this page's last item: pass it as `after` for the next page."
    )
    has_previous_page: bool = strawberry.field(
        description="True when this page was asked for with `after` (pagination is forward only)."
    )
    start_cursor: str | None = strawberry.field(description="The cursor of this page's first item.")


def _page_info(cursors: Sequence[str], has_next: bool, after: str | None) -> PageInfo:
    """The `PageInfo` of a page whose items have `cursors`, asked for after the key `after`."""
    return PageInfo(
        has_next_page=has_next,
        end_cursor=cursors[-1] if cursors else None,
        has_previous_page=after is not None,
        start_cursor=cursors[0] if cursors else None,
    )


def paging(kind: str, first: int | None, after: str | None) -> tuple[int, str | None]:
    """The page size and the sort key to start after, from a paged field's `first` and `after`
    (a cursor of a list of `kind`); `BadUserInput` for either out of bounds or foreign."""
    return page_size(first), decode_cursor(kind, after)


def audit_paging(first: int | None, after: str | None) -> tuple[int, int | None]:
    """The page size and the `seq` to start before, from an audit-trail field's `first` and `after`."""
    return page_size(first), decode_audit_cursor(after)


N = TypeVar("N")
R = TypeVar("R")


@strawberry.type
class Edge(Generic[N]):
    """One item of a page and its cursor. In the SDL, `Edge[DivisionType]` is `DivisionEdge`."""

    cursor: str
    node: N


@strawberry.type(description="One page of a list, in the list's order (forward pagination).")
class Connection(Generic[N]):
    """One page of a list. In the SDL, `Connection[DivisionType]` is `DivisionConnection` (strawberry
    names a generic's specialisation after its type argument's GraphQL name)."""

    edges: list[Edge[N]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], int]]

    @strawberry.field(description="How many items the whole list holds.")
    def total_count(self) -> int:
        return self.count()


def connection(
    records: Sequence[R],
    kind: str,
    key: Callable[[R], str],
    node: Callable[[R], N],
    has_next: bool,
    count: Callable[[], int],
    after: str | None,
) -> Connection[N]:
    """The connection of one page of `records` (a list of `kind`, sorted by `key`), each wrapped by
    `node`; `count` tells the whole list's length when asked, `after` is the key the page starts after."""
    edges = [Edge(cursor=encode_cursor(kind, key(record)), node=node(record)) for record in records]
    return Connection(
        edges=edges, page_info=_page_info([edge.cursor for edge in edges], has_next, after), count=count
    )
