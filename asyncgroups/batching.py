"""Batching every backend shares: split, run concurrently, isolate bad keys.

Chunks of at most ``max_batch`` keys run concurrently; their outcomes are gathered
into one [`BatchResult`][asyncgroups.models.BatchResult].

A chunk the server rejects because of some of its items (400/404/409/422) is split
in halves and retried until the offending keys stand alone; the rest still apply.
When both halves fail exactly as the whole chunk did (same class, status, message
and field errors), the rejection is about the request, not the keys (a missing
group): the chunk fails whole and later chunks failing alike are not split. Servers
that name the offending items in their messages (all built-in backends do) get
exact isolation. Errors that are not about items (auth, 5xx, transport) fail the whole chunk at
once; set-up errors (configuration, a closed client) are raised. Chunks run in a
task group, so an unexpected exception cancels its siblings instead of leaving them
writing in the background.
"""

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

from asyncgroups.errors import (
    AsyncGroupsError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    RejectedRequestError,
    UnsupportedOperationError,
)
from asyncgroups.models import BatchResult
from asyncgroups.packing import invert, pack
from asyncgroups.validation import normalise_id, plain_ids

__all__ = [
    "ChunkCallback",
    "ChunkDone",
    "ChunkSending",
    "ItemOperation",
    "Memberships",
    "chunked",
    "dedupe_keys",
    "first_exception",
    "invert",
    "pack",
    "run_batches",
]

#: One request's worth: takes the chunk of keys, raises on rejection.
ItemOperation = Callable[[Sequence[str]], Awaitable[None]]
#: Told each chunk's settled outcome (after bad keys were isolated); may be async.
ChunkCallback = Callable[[BatchResult], Awaitable[None] | None]
#: What ``members.add_many``/``remove_many`` take: group id -> member keys. (Three
#: spellings because ``Mapping`` is invariant in its key type: a ``dict[str, ...]``
#: is not a ``Mapping[str | int, ...]``.)
Memberships = (
    Mapping[str, Iterable[str | int]]
    | Mapping[int, Iterable[str | int]]
    | Mapping[str | int, Iterable[str | int]]
)
#: ``members.add_many``/``remove_many``'s per-chunk callback: the group ids one
#: request served and that chunk's settled outcome; may be async.
ChunkDone = Callable[[tuple[str, ...], BatchResult], Awaitable[None] | None]
#: ``members.add_many``/``remove_many``'s ``on_send``: the group ids and the keys of
#: a request about to be sent (its slot taken). Synchronous: it must not wait.
ChunkSending = Callable[[tuple[str, ...], Sequence[str]], None]

_ITEM_ERRORS = (RejectedRequestError, NotFoundError, ConflictError)
#: Errors about the call or the client, not the keys: raised, never recorded per key.
_SETUP_ERRORS = (ConfigurationError, ClientClosedError, UnsupportedOperationError)


def dedupe_keys(keys: Iterable[str | int], what: str = "member key") -> list[str]:
    """Validate and de-duplicate keys, keeping their first-seen order.

    Raises:
        InvalidInputError: a key is empty or holds control characters.
    """
    if isinstance(keys, str | bytes):
        raise InvalidInputError(
            f"{what}s must be a collection of keys, not a single string"
        )
    if not isinstance(keys, Iterable):
        raise InvalidInputError(
            f"{what}s must be a collection of keys, not {type(keys).__name__}"
        )
    if isinstance(keys, list | tuple | set | frozenset) and plain_ids(keys):
        return list(dict.fromkeys(keys))
    return list(dict.fromkeys(normalise_id(k, what) for k in keys))


def chunked(keys: Sequence[str], size: int) -> list[Sequence[str]]:
    """Split ``keys`` into consecutive chunks of at most ``size``.

    Keys that fit in one chunk are returned as they are, not copied.
    """
    if len(keys) <= size:
        return [keys]
    return [keys[i : i + size] for i in range(0, len(keys), size)]


async def run_batches(
    operation: ItemOperation,
    keys: Sequence[str],
    *,
    max_batch: int,
    concurrency: "int | asyncio.Semaphore",
    on_chunk: ChunkCallback | None = None,
    on_send: Callable[[Sequence[str]], None] | None = None,
) -> BatchResult:
    """Apply ``operation`` to ``keys`` in chunks, concurrently, isolating bad keys.

    Args:
        operation: sends one request for one chunk.
        keys: validated, de-duplicated keys.
        max_batch: the most keys one request may carry.
        concurrency: the most chunks in flight at once, or a semaphore shared with
            other batches.
        on_send: told the keys of each request just before it is sent (a
            caller that is cancelled then knows which keys may be in flight).
        on_chunk: told each chunk's outcome once its bad keys are isolated (a
            caller's progress); an exception it raises cancels the other chunks.

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
    batches = _Batches(operation, semaphore, on_chunk, on_send)
    chunks = chunked(keys, max(1, max_batch))
    if len(chunks) == 1:
        # One request: no task group to run it in (a sync sends thousands).
        await batches.attempt(chunks[0])
        return batches.result()
    try:
        async with asyncio.TaskGroup() as group:
            for chunk in chunks:
                group.create_task(batches.attempt(chunk))
    except BaseExceptionGroup as eg:
        raise first_exception(eg) from None
    return batches.result()


class _Batches:
    """One `run_batches` call's state: what succeeded, what failed, requests sent.

    A class, not closures: a recursive closure (``settle``) would make a reference
    cycle of every call's state, freed only by the cyclic garbage collector, whose
    full passes then grow with the heap (a 1,000,000-membership sync spent a
    quarter of its apply CPU there, 3.3 of 12.4 s).
    """

    __slots__ = (
        "chunk_wide",
        "failed",
        "on_chunk",
        "on_send",
        "operation",
        "requests",
        "semaphore",
        "succeeded",
    )

    def __init__(
        self,
        operation: ItemOperation,
        semaphore: asyncio.Semaphore,
        on_chunk: ChunkCallback | None,
        on_send: Callable[[Sequence[str]], None] | None,
    ) -> None:
        self.operation = operation
        self.semaphore = semaphore
        self.on_chunk = on_chunk
        self.on_send = on_send
        self.succeeded: set[str] = set()
        self.failed: dict[str, AsyncGroupsError] = {}
        self.requests = 0
        # Rejections shown not to be about the keys: both halves of a rejected
        # chunk failed exactly as the chunk did (a missing group, say). They are
        # not bisected.
        self.chunk_wide: set[tuple[object, ...]] = set()

    def result(self) -> BatchResult:
        return BatchResult(self.succeeded, self.failed, self.requests)

    async def send(
        self, chunk: Sequence[str], tally: list[int]
    ) -> AsyncGroupsError | None:
        """One request for ``chunk``; the rejection, if any."""
        async with self.semaphore:
            self.requests += 1
            tally[0] += 1
            if self.on_send is not None:
                self.on_send(chunk)
            try:
                await self.operation(chunk)
            except _SETUP_ERRORS:
                raise
            except AsyncGroupsError as exc:
                return exc
        return None

    async def settle(
        self, chunk: Sequence[str], error: AsyncGroupsError, tally: list[int]
    ) -> None:
        """``chunk`` was rejected with ``error``: find the keys that caused it."""
        signature = _signature(error)
        if (
            not isinstance(error, _ITEM_ERRORS)
            or len(chunk) == 1
            or signature in self.chunk_wide
        ):
            self.failed.update(dict.fromkeys(chunk, error))
            return
        middle = len(chunk) // 2
        halves = (chunk[:middle], chunk[middle:])
        async with asyncio.TaskGroup() as tasks:
            sent = [tasks.create_task(self.send(half, tally)) for half in halves]
        errors = [task.result() for task in sent]
        if all(e is not None and _signature(e) == signature for e in errors):
            self.chunk_wide.add(signature)
            self.failed.update(dict.fromkeys(chunk, error))
            return
        async with asyncio.TaskGroup() as tasks:
            for half, half_error in zip(halves, errors, strict=True):
                if half_error is None:
                    self.succeeded.update(half)
                else:
                    tasks.create_task(self.settle(half, half_error, tally))

    async def attempt(self, chunk: Sequence[str]) -> None:
        tally = [0]
        error = await self.send(chunk, tally)
        if error is None:
            self.succeeded.update(chunk)
        else:
            await self.settle(chunk, error, tally)
        if self.on_chunk is not None:
            if error is None:
                # Keys are de-duplicated, chunks disjoint: the whole chunk.
                outcome = BatchResult(chunk, {}, tally[0])
            else:
                succeeded, failed = self.succeeded, self.failed
                outcome = BatchResult(
                    frozenset(k for k in chunk if k in succeeded),
                    {k: failed[k] for k in chunk if k in failed},
                    tally[0],
                )
            told = self.on_chunk(outcome)
            if inspect.isawaitable(told):
                await told


def _signature(error: AsyncGroupsError) -> tuple[object, ...]:
    """What makes two rejections the same: class, status, message, field errors."""
    fields = getattr(error, "errors", {}) or {}
    return (
        type(error),
        getattr(error, "status", None),
        str(error),
        tuple(sorted((k, tuple(v)) for k, v in fields.items())),
    )


def first_exception(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first leaf exception of a (possibly nested) exception group."""
    first = group.exceptions[0]
    return first_exception(first) if isinstance(first, BaseExceptionGroup) else first
