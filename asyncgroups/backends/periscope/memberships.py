"""Read-modify-write of a user's ``groups`` list, serialised and coalesced per user.

Periscope has no membership endpoint: a user's groups are a list on the user record,
and a ``PUT`` replaces it. Two unsynchronised read-modify-writes of one user lose an
update, so every change to one user's list goes through that user's queue: changes
wait their turn under a per-user `asyncio.Lock`, and the holder applies every
change queued so far in one ``GET`` -> ``PUT`` -> verifying ``GET``. 200 concurrent
adds to one user therefore cost a handful of requests and lose nothing. A ``PUT``
that succeeded is applied: if the verifying ``GET`` then fails, the change is not
reported as failed (only a re-read that shows the list changed under us is acted on).

Each session (one Client) has its own `MembershipQueues`. Queues live in a
`weakref.WeakValueDictionary`: a queue exists while some caller holds it, so
the registry does not grow with the number of users touched. A bare per-record lock
(the kit's ``RecordLocks``) would not do: the queue also carries the pending changes
that its lock holder applies together.
This module performs no I/O itself; it calls the functions it is given.
"""

import asyncio
import contextlib
import weakref
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Sequence,
)

from attrs import define, field

from asyncgroups.errors import (
    AsyncGroupsError,
    ConflictError,
    NotFoundError,
    RejectedRequestError,
)

__all__ = ["EVERYONE", "Change", "MembershipQueues", "apply_changes"]

#: Every user is implicitly in this built-in group; it cannot be left.
EVERYONE = "Everyone"

#: Errors that one change may cause on its own: retried change by change.
_ITEM_ERRORS = (RejectedRequestError, NotFoundError, ConflictError)

ReadGroups = Callable[[str], Awaitable[list[str]]]
WriteGroups = Callable[[str, list[str]], Awaitable[None]]


@define(eq=False)
class Change:
    """One caller's change to one user's groups, applied in queue order."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    done: bool = False
    error: AsyncGroupsError | None = None


def apply_changes(current: Sequence[str], changes: Iterable[Change]) -> list[str]:
    """The groups list after ``changes``, in order (names compared case-insensitively).

    Groups already present keep their position and spelling; added ones go last.
    """
    result = list(current)
    for change in changes:
        gone = {g.casefold() for g in change.remove}
        result = [g for g in result if g.casefold() not in gone]
        have = {g.casefold() for g in result}
        for group in change.add:
            if group.casefold() not in have:
                result.append(group)
                have.add(group.casefold())
    return result


def _same(left: Sequence[str], right: Sequence[str]) -> bool:
    def norm(values: Sequence[str]) -> set[str]:
        return {v.casefold() for v in values} - {EVERYONE.casefold()}

    return norm(left) == norm(right)


@define(eq=False)
class _UserQueue:
    lock: asyncio.Lock = field(factory=asyncio.Lock)
    pending: list[Change] = field(factory=list)


class MembershipQueues:
    """Per-user queues of group changes, applied by read-modify-write.

    Args:
        read: ``read(email) -> groups`` fetches the user's current list.
        write: ``write(email, groups)`` replaces it.
        verify: re-read after each write and retry if the list is not as written
            (off in test mode, where nothing persists).
        rounds: read-modify-write rounds before giving up on a list that keeps
            changing under us (another writer outside this process).
    """

    def __init__(
        self,
        read: ReadGroups,
        write: WriteGroups,
        *,
        verify: bool = True,
        rounds: int = 3,
    ) -> None:
        self._read = read
        self._write = write
        self._verify = verify
        self._rounds = max(1, rounds)
        self._queues: weakref.WeakValueDictionary[str, _UserQueue] = (
            weakref.WeakValueDictionary()
        )

    def __len__(self) -> int:
        """Users with a live queue (callers waiting or working)."""
        return len(self._queues)

    def _queue(self, email: str) -> _UserQueue:
        key = email.casefold()
        queue = self._queues.get(key)
        if queue is None:
            queue = _UserQueue()
            self._queues[key] = queue
        return queue

    @contextlib.asynccontextmanager
    async def locked(self, email: str) -> AsyncIterator[None]:
        """Hold the user's lock for another write of their groups, in queue order.

        The block keeps the user's queue alive, so changes made meanwhile wait for
        it (a bare lock would not: the queue, held weakly, would be collected and
        the next change would get a new queue with a lock of its own).
        """
        queue = self._queue(email)
        async with queue.lock:
            yield

    async def change(
        self, email: str, *, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> None:
        """Add the user to ``add`` and remove them from ``remove``, losing no update.

        Raises:
            AsyncGroupsError: the change could not be applied (the server's reason).
        """
        queue = self._queue(email)
        mine = Change(tuple(add), tuple(remove))
        queue.pending.append(mine)
        try:
            async with queue.lock:
                if not mine.done:
                    batch, queue.pending[:] = list(queue.pending), []
                    try:
                        await self._apply(email, batch)
                    except BaseException:
                        # Cancelled (or a bug): the other callers' changes go back
                        # to the queue for the next holder of the lock.
                        queue.pending[:0] = [
                            c for c in batch if c is not mine and not c.done
                        ]
                        raise
        except asyncio.CancelledError:
            if mine in queue.pending:
                queue.pending.remove(mine)
            raise
        if mine.error is not None:
            raise mine.error

    async def _apply(self, email: str, batch: list[Change]) -> None:
        try:
            await self._rmw(email, batch)
        except _ITEM_ERRORS as exc:
            if len(batch) == 1:
                self._finish(batch, exc)
                return
            # One change may have caused the refusal: apply them one at a time so
            # each caller gets its own answer.
            for change in batch:
                try:
                    await self._rmw(email, [change])
                except AsyncGroupsError as single:
                    self._finish([change], single)
                else:
                    self._finish([change], None)
            return
        except AsyncGroupsError as exc:
            self._finish(batch, exc)
            return
        self._finish(batch, None)

    @staticmethod
    def _finish(batch: Sequence[Change], error: AsyncGroupsError | None) -> None:
        for change in batch:
            change.error = error
            change.done = True

    async def _rmw(self, email: str, batch: Sequence[Change]) -> None:
        for _ in range(self._rounds):
            current = await self._read(email)
            wanted = apply_changes(current, batch)
            if wanted == current:
                return
            try:
                await self._write(email, wanted)
            except AsyncGroupsError:
                # The answer may be to a re-send of a PUT that already applied
                # (the list replaces the whole record, so re-sending is safe):
                # the record tells, if it can be read.
                if not self._verify or not await self._landed(email, batch):
                    raise
                return
            if not self._verify:
                return
            # Our changes hold if applying them again would change nothing; groups
            # someone else added meanwhile are theirs to keep. The PUT succeeded, so
            # the change is applied: a re-read that fails cannot make it a failure.
            try:
                after = await self._read(email)
            except AsyncGroupsError:
                return
            if _same(after, apply_changes(after, batch)):
                return
        raise ConflictError(
            "the user's groups kept changing during the update "
            f"({self._rounds} read-modify-write rounds)",
            backend="periscope",
        )

    async def _landed(self, email: str, batch: Sequence[Change]) -> bool:
        """Whether ``batch`` is in the user's list now (``False`` if unreadable)."""
        try:
            after = await self._read(email)
        except AsyncGroupsError:
            return False
        return _same(after, apply_changes(after, batch))
