"""Batching every backend shares: split, run concurrently, isolate bad keys.

Chunks of at most ``max_batch`` keys run concurrently; their outcomes are gathered
into one :class:`BatchResult`.

A chunk the server rejects because of some of its items (400/404/409/422) is split
in halves and retried until the offending keys stand alone; the rest still apply.
Errors that are not about items (auth, 5xx, transport) fail the whole chunk at once.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

from asyncgroups.errors import (
    AsyncGroupsError,
    ConflictError,
    NotFoundError,
    RejectedRequestError,
)
from asyncgroups.models import BatchResult
from asyncgroups.validation import normalise_id

__all__ = ["ItemOperation", "chunked", "dedupe_keys", "run_batches"]

#: One request's worth: takes the chunk of keys, raises on rejection.
ItemOperation = Callable[[Sequence[str]], Awaitable[None]]

_ITEM_ERRORS = (RejectedRequestError, NotFoundError, ConflictError)


def dedupe_keys(keys: Iterable[str | int], what: str = "member key") -> list[str]:
    """Validate and de-duplicate keys, keeping their first-seen order.

    Raises:
        InvalidInputError: a key is empty or holds control characters.
    """
    if isinstance(keys, str | bytes):
        raise TypeError("keys must be an iterable of keys, not a single string")
    return list(dict.fromkeys(normalise_id(k, what) for k in keys))


def chunked(keys: Sequence[str], size: int) -> list[Sequence[str]]:
    """Split ``keys`` into consecutive chunks of at most ``size``."""
    return [keys[i : i + size] for i in range(0, len(keys), size)]


async def run_batches(
    operation: ItemOperation,
    keys: Sequence[str],
    *,
    max_batch: int,
    concurrency: "int | asyncio.Semaphore",
) -> BatchResult:
    """Apply ``operation`` to ``keys`` in chunks, concurrently, isolating bad keys.

    Args:
        operation: sends one request for one chunk.
        keys: validated, de-duplicated keys.
        max_batch: the most keys one request may carry.
        concurrency: the most chunks in flight at once, or a semaphore shared with
            other batches.

    Returns:
        Which keys succeeded, which failed and why, and how many requests it took.
    """
    if not keys:
        return BatchResult()
    semaphore = (
        concurrency
        if isinstance(concurrency, asyncio.Semaphore)
        else asyncio.Semaphore(max(1, concurrency))
    )
    succeeded: set[str] = set()
    failed: dict[str, AsyncGroupsError] = {}
    requests = 0

    async def attempt(chunk: Sequence[str]) -> None:
        nonlocal requests
        async with semaphore:
            requests += 1
            try:
                await operation(chunk)
            except _ITEM_ERRORS as exc:
                error: AsyncGroupsError | None = exc
                isolatable = True
            except AsyncGroupsError as exc:
                error, isolatable = exc, False
            else:
                error, isolatable = None, False
        if error is None:
            succeeded.update(chunk)
        elif isolatable and len(chunk) > 1:
            middle = len(chunk) // 2
            await asyncio.gather(attempt(chunk[:middle]), attempt(chunk[middle:]))
        else:
            for key in chunk:
                failed[key] = error

    await asyncio.gather(*(attempt(c) for c in chunked(keys, max(1, max_batch))))
    return BatchResult(succeeded, failed, requests)


def invert(mapping: Mapping[str, Sequence[str]]) -> dict[frozenset[str], list[str]]:
    """Group keys by the exact set of groups they are bound for.

    ``{g1: [a, b], g2: [a]}`` becomes ``{{g1, g2}: [a], {g1}: [b]}``, so keys bound
    for the same groups can share requests on APIs where one request serves many.
    """
    targets: dict[str, set[str]] = {}
    for group, keys in mapping.items():
        for key in keys:
            targets.setdefault(key, set()).add(group)
    packed: dict[frozenset[str], list[str]] = {}
    for key, groups in targets.items():
        packed.setdefault(frozenset(groups), []).append(key)
    return packed
