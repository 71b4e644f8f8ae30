"""Reading the state a sync compares against: groups, members, users.

Reads only, through the Client interface (`SyncClient`); never writes. A
members listing that fails part-way is returned as incomplete, never as complete,
and `check_complete` refuses to prune against one.
"""

import asyncio
import hashlib
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from attrs import field, frozen

from asyncgroups.errors import AsyncGroupsError, InvalidInputError, SyncAbortedError
from asyncgroups.sync.port import SyncClient
from asyncgroups.sync.syncplan import By

__all__ = [
    "Observed",
    "SyncClient",
    "check_complete",
    "fingerprint",
    "known_users",
    "observe",
    "observe_each",
    "resolve_groups",
]

T = TypeVar("T")


@frozen
class Observed:
    """The members of one group as listed.

    Attributes:
        keys: member keys seen.
        roles: key -> role, for members that have one.
        complete: whether the listing was read to the end.
        error: why it was not.
        count: how many members were listed, when ``keys`` holds only some of
            them (a summary: what a check keeps of a listing).
        digest: the fingerprint of every member listed, in a summary.
        absent: in a summary, the desired keys the listing did not show.
    """

    keys: frozenset[str] = frozenset()
    roles: Mapping[str, str] = field(factory=dict)
    complete: bool = True
    error: str | None = None
    count: int | None = None
    digest: str | None = None
    absent: frozenset[str] | None = None

    @property
    def fingerprint(self) -> str:
        """A digest of the observed keys."""
        return self.digest if self.digest is not None else fingerprint(self.keys)

    @property
    def size(self) -> int:
        """How many members were listed."""
        return self.count if self.count is not None else len(self.keys)


def fingerprint(keys: Iterable[str]) -> str:
    """A short, order-independent digest of a set of member keys."""
    ordered = sorted(keys if isinstance(keys, set | frozenset) else set(keys))
    # One update of every key followed by a newline: the digest of hashing them
    # one at a time, at a fraction of the cost.
    text = "\n".join(ordered) + "\n" if ordered else ""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


async def observe(
    client: SyncClient, group_ids: Iterable[str], *, concurrency: int | None = None
) -> dict[str, Observed]:
    """List the members of each group concurrently (bounded).

    A listing that fails part-way is returned as incomplete, never as complete.
    """
    return await observe_each(
        client, group_ids, lambda _, seen: seen, concurrency=concurrency
    )


async def observe_each(
    client: SyncClient,
    group_ids: Iterable[str],
    each: Callable[[str, Observed], T],
    *,
    concurrency: int | None = None,
) -> dict[str, T]:
    """List each group concurrently; keep only what ``each`` makes of its listing.

    ``each(group_id, observed)`` runs as soon as that group's listing ends, so its
    members can be dropped then: memory stays bounded by what ``each`` keeps plus
    the listings in flight (at most ``concurrency``), not by every group's members.
    """

    async def one(gid: str) -> tuple[str, T]:
        # The pages' keys go into one frozenset at the end, not through a set
        # first: most groups are one page, whose frozenset is all that is made
        # (2.7 against 4.0 µs for 100 keys, best of 7 x 20,000, load 6.9).
        pages: list[Sequence[str]] = []
        roles: dict[str, str] = {}
        try:
            async for page, page_roles in client.members.list_keys(gid):
                pages.append(page)
                if page_roles:
                    roles.update(page_roles)
        except AsyncGroupsError as exc:
            return gid, each(gid, Observed(_joined(pages), roles, False, str(exc)))
        return gid, each(gid, Observed(_joined(pages), roles))

    # A pool of workers, not a task per group: memory stays flat in the number of
    # groups (each waiting task would hold a frame).
    pending = list(reversed(dict.fromkeys(group_ids)))
    results: dict[str, T] = {}

    async def worker() -> None:
        while pending:
            gid, value = await one(pending.pop())
            results[gid] = value

    workers = min(len(pending), concurrency or client.concurrency)
    await asyncio.gather(*(worker() for _ in range(workers)))
    return results


def _joined(pages: list[Sequence[str]]) -> frozenset[str]:
    if len(pages) == 1:
        return frozenset(pages[0])
    return frozenset(itertools.chain.from_iterable(pages))


async def resolve_groups(
    client: SyncClient, keys: Iterable[str], by: By
) -> dict[str, str | None]:
    """Map each group key (a name, or an id with ``by="id"``) to its id, listing once.

    Returns:
        key -> id, or ``None`` when no group has that name or id.

    Raises:
        InvalidInputError: a name matches several groups (the ids are named).
    """
    found: dict[str, list[str]] = {}
    async for group in client.groups.list():
        found.setdefault(group.name if by == "name" else group.id, []).append(group.id)
    resolved: dict[str, str | None] = {}
    for key in keys:
        ids = found.get(key, [])
        if len(ids) > 1:
            raise InvalidInputError(
                f"group name {key!r} matches {len(ids)} groups "
                f"(ids {', '.join(ids)}); sync them by id"
            )
        resolved[key] = ids[0] if ids else None
    return resolved


async def known_users(client: SyncClient) -> frozenset[str]:
    """Every user id and e-mail (also lower-cased), listing users once."""
    known: set[str] = set()
    async for user in client.users.list():
        known.add(user.id)
        if user.email:
            known.update((user.email, user.email.lower()))
    return frozenset(known)


def check_complete(observed: Mapping[str, Observed]) -> None:
    """Refuse to prune against a listing that failed part-way.

    Raises:
        SyncAbortedError: some listing is incomplete.
    """
    broken = {gid: o.error for gid, o in observed.items() if not o.complete}
    if broken:
        detail = "; ".join(f"{gid}: {err}" for gid, err in broken.items())
        raise SyncAbortedError(
            f"refusing to prune: the members listing of {len(broken)} group(s) "
            f"failed part-way, so the observed state is incomplete ({detail})"
        )
