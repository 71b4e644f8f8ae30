"""The sync engine's port: the narrow part of a Client that plan, apply and verify use.

It names no concrete class and no backend: anything with these members can be
synced (the [`Client`][asyncgroups.Client] is the one that ships; a test may pass
its own). The engine never imports the transport or the backends.
"""

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from asyncgroups.batching import ChunkDone, ChunkSending, Memberships
from asyncgroups.capabilities import Capability
from asyncgroups.models import BatchResult, Group, KeyPage, Member, User

__all__ = [
    "ChunkDone",
    "GroupsPort",
    "MembersPort",
    "SyncClient",
    "TrafficCounts",
    "UsersPort",
]


class GroupsPort(Protocol):
    """``client.groups`` as the sync engine uses it."""

    def list(self, query: str | None = None) -> AsyncIterator[Group]:
        """Every group (lazily)."""
        ...

    async def create(
        self,
        name: str,
        *,
        description: str | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> Group:
        """Create a group."""
        ...


class UsersPort(Protocol):
    """``client.users`` as the sync engine uses it (key translation)."""

    def list(self, query: str | None = None) -> AsyncIterator[User]:
        """Every user (lazily)."""
        ...


class MembersPort(Protocol):
    """``client.members`` as the sync engine uses it."""

    def list(self, group_id: str | int) -> AsyncIterator[Member]:
        """A group's members (lazily)."""
        ...

    def list_keys(self, group_id: str | int) -> AsyncIterator[KeyPage]:
        """A group's member keys, a page at a time (lazily; no member objects)."""
        ...

    async def add_many(
        self,
        memberships: Memberships,
        *,
        concurrency: "int | asyncio.Semaphore | None" = None,
        on_chunk: ChunkDone | None = None,
        on_send: ChunkSending | None = None,
    ) -> dict[str, BatchResult]:
        """Add keys to groups: chunked, concurrent, bad keys isolated."""
        ...

    async def remove_many(
        self,
        memberships: Memberships,
        *,
        concurrency: "int | asyncio.Semaphore | None" = None,
        on_chunk: ChunkDone | None = None,
        on_send: ChunkSending | None = None,
    ) -> dict[str, BatchResult]:
        """Remove keys from groups: chunked, concurrent, bad keys isolated."""
        ...


class TrafficCounts(Protocol):
    """Running request counts (``client.stats``)."""

    @property
    def requests(self) -> int:
        """Attempts sent, retries included."""
        ...

    @property
    def retries(self) -> int:
        """Attempts that were retries."""
        ...

    @property
    def throttled(self) -> int:
        """429 answers received."""
        ...

    def snapshot(self) -> "TrafficCounts":
        """A copy of the totals now."""
        ...

    def since(self, earlier: Any) -> "TrafficCounts":
        """What accumulated since ``earlier`` (a snapshot) was taken."""
        ...


class SyncClient(Protocol):
    """The part of [`Client`][asyncgroups.Client] the sync engine uses."""

    @property
    def groups(self) -> GroupsPort:
        """Group reads and creates."""
        ...

    @property
    def users(self) -> UsersPort:
        """User reads."""
        ...

    @property
    def members(self) -> MembersPort:
        """Member reads and batched writes."""
        ...

    @property
    def backend_name(self) -> str:
        """The registry name of the backend behind the Client (plans record it)."""
        ...

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What the backend can do."""
        ...

    @property
    def stats(self) -> TrafficCounts:
        """Request counts, for the report."""
        ...

    @property
    def concurrency(self) -> int:
        """Requests in flight by default."""
        ...
