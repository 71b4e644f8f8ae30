"""Shared pagination loops (limit/offset and cursor) that every backend reuses.

The loops advance by what the server actually returned (servers clamp ``limit``),
de-duplicate by key (offset pages shift while data changes) and stop with a
:class:`~asyncgroups.errors.DecodeError` when a server's paging never ends.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from typing import TypeVar

from asyncgroups.errors import DecodeError

__all__ = ["cursor_pages", "offset_pages"]

T = TypeVar("T")
C = TypeVar("C", bound=Hashable)

#: Pages in a row that bring nothing new before a walk is declared stuck.
STUCK_PAGES = 3


async def offset_pages(
    fetch: Callable[[int, int], Awaitable[tuple[Sequence[T], int | None]]],
    *,
    limit: int,
    key: Callable[[T], Hashable],
    backend: str = "",
) -> AsyncIterator[T]:
    """Walk a limit/offset listing.

    Args:
        fetch: ``fetch(offset, limit) -> (items, count)``; ``count`` may be ``None``.
        limit: the page size asked for (the server may return fewer).
        key: identity of an item, for de-duplication.
        backend: backend name for error messages.

    Raises:
        DecodeError: the listing does not advance, or its count keeps growing.
    """
    seen: set[Hashable] = set()
    offset = 0
    stale = 0
    first_count: int | None = None
    while True:
        items, count = await fetch(offset, limit)
        if first_count is None:
            first_count = count
        if not items:
            return
        fresh = 0
        for item in items:
            k = key(item)
            if k in seen:
                continue
            seen.add(k)
            fresh += 1
            yield item
        offset += len(items)
        stale = 0 if fresh else stale + 1
        if stale >= STUCK_PAGES:
            raise DecodeError(
                f"pagination is not advancing: {STUCK_PAGES} pages in a row repeated "
                "items already seen",
                backend=backend,
            )
        if count is not None:
            if first_count is not None and count > 2 * first_count + 10 * limit:
                raise DecodeError(
                    f"pagination count grew from {first_count} to {count} during the walk",
                    backend=backend,
                )
            if offset >= count:
                return


async def cursor_pages(
    fetch: Callable[[C | None], Awaitable[tuple[Sequence[T], C | None]]],
    *,
    backend: str = "",
) -> AsyncIterator[T]:
    """Walk a cursor listing: ``fetch(cursor) -> (items, next_cursor)``.

    Raises:
        DecodeError: a cursor came back that was already used.
    """
    cursor: C | None = None
    used: set[C] = set()
    while True:
        items, nxt = await fetch(cursor)
        for item in items:
            yield item
        if nxt is None:
            return
        if nxt in used:
            raise DecodeError(f"pagination cursor {nxt!r} repeated", backend=backend)
        used.add(nxt)
        cursor = nxt
