"""The Client's ``groups``, ``users`` and ``members`` namespaces.

Thin: they validate arguments, check capabilities (``UnsupportedOperationError``
before any request), turn pages into async iterators and batch member operations.
"""

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from asyncgroups.backends.base import Capability
from asyncgroups.batching import dedupe_keys, first_exception, invert, run_batches
from asyncgroups.errors import InvalidInputError, UnsupportedOperationError
from asyncgroups.models import BatchResult, Group, Member, User
from asyncgroups.validation import check_name, normalise_id

if TYPE_CHECKING:
    from asyncgroups.client import Client

__all__ = ["GroupsAPI", "MembersAPI", "UsersAPI"]


class _Namespace:
    def __init__(self, client: "Client") -> None:
        self._client = client

    def _require(self, capability: Capability, what: str) -> None:
        self._client._check_open()
        if capability not in self._client.capabilities:
            raise UnsupportedOperationError(
                f"the {self._client.backend.name} backend cannot {what} "
                f"(no {capability.name} capability)"
            )


class GroupsAPI(_Namespace):
    """Group operations: ``client.groups``."""

    async def create(self, name: str, **fields: Any) -> Group:
        """Create a group named ``name`` (backend fields such as ``description``).

        Raises:
            UnsupportedOperationError: the backend cannot create groups.
            InvalidInputError: the name is empty or holds control characters.
            APIError: the server refused.
        """
        self._require(Capability.GROUPS_CREATE, "create groups")
        check_name(name)
        return await self._client.backend.create_group(name, **fields)

    async def get(self, group_id: str | int) -> Group:
        """Fetch one group by id.

        Raises:
            NotFoundError: no such group.
        """
        self._client._check_open()
        return await self._client.backend.get_group(normalise_id(group_id, "group id"))

    async def update(self, group_id: str | int, **fields: Any) -> Group:
        """Change a group's fields (``name``, ``description``, backend extras).

        Raises:
            UnsupportedOperationError: the backend cannot update groups.
            NotFoundError: no such group.
        """
        self._require(Capability.GROUPS_UPDATE, "update groups")
        if "name" in fields and fields["name"] is not None:
            check_name(fields["name"])
        gid = normalise_id(group_id, "group id")
        return await self._client.backend.update_group(gid, **fields)

    async def delete(self, group_id: str | int) -> None:
        """Delete a group.

        Raises:
            UnsupportedOperationError: the backend cannot delete groups.
            NotFoundError: no such group.
        """
        self._require(Capability.GROUPS_DELETE, "delete groups")
        await self._client.backend.delete_group(normalise_id(group_id, "group id"))

    async def list(self, query: str | None = None) -> AsyncIterator[Group]:
        """Iterate over groups (lazily, page by page), optionally filtered by name."""
        self._client._check_open()
        async for group in self._client.backend.iter_groups(query):
            yield group


class UsersAPI(_Namespace):
    """User operations: ``client.users``."""

    async def create(self, **fields: Any) -> User:
        """Create a user (``email``, ``first_name``, ``last_name``, backend extras).

        Raises:
            UnsupportedOperationError: the backend cannot create users.
        """
        self._require(Capability.USERS_CREATE, "create users")
        return await self._client.backend.create_user(**fields)

    async def get(self, user_id: str | int) -> User:
        """Fetch one user.

        Raises:
            UnsupportedOperationError: the backend cannot look users up.
            NotFoundError: no such user.
        """
        self._require(Capability.USERS_GET, "look users up")
        return await self._client.backend.get_user(normalise_id(user_id, "user id"))

    async def update(self, user_id: str | int, **fields: Any) -> User:
        """Change a user's fields.

        Raises:
            UnsupportedOperationError: the backend cannot update users.
            NotFoundError: no such user.
        """
        self._require(Capability.USERS_UPDATE, "update users")
        uid = normalise_id(user_id, "user id")
        return await self._client.backend.update_user(uid, **fields)

    async def delete(self, user_id: str | int) -> None:
        """Delete a user.

        Raises:
            UnsupportedOperationError: the backend cannot delete users.
            NotFoundError: no such user.
        """
        self._require(Capability.USERS_DELETE, "delete users")
        await self._client.backend.delete_user(normalise_id(user_id, "user id"))

    async def list(self, query: str | None = None) -> AsyncIterator[User]:
        """Iterate over users (lazily, page by page).

        Raises:
            UnsupportedOperationError: the backend cannot list users.
        """
        self._require(Capability.USERS_LIST, "list users")
        async for user in self._client.backend.iter_users(query):
            yield user


class MembersAPI(_Namespace):
    """Membership operations: ``client.members``."""

    async def list(self, group_id: str | int) -> AsyncIterator[Member]:
        """Iterate over a group's members (lazily, page by page).

        Raises:
            UnsupportedOperationError: the backend cannot list members.
            NotFoundError: no such group.
        """
        self._require(Capability.MEMBERS_LIST, "list members")
        gid = normalise_id(group_id, "group id")
        async for member in self._client.backend.iter_members(gid):
            yield member

    async def add(
        self,
        group_id: str | int,
        keys: Iterable[str | int],
        *,
        concurrency: int | None = None,
    ) -> BatchResult:
        """Add members to a group: any number of keys, batched and concurrent.

        Bad keys are isolated: they end in ``BatchResult.failed`` with the server's
        reason while the rest are applied.

        Raises:
            UnsupportedOperationError: the backend cannot add members.
            InvalidInputError: a key or the group id is empty or malformed.
        """
        self._require(Capability.MEMBERS_ADD, "add members")
        return await self._batch(group_id, keys, concurrency, add=True)

    async def remove(
        self,
        group_id: str | int,
        keys: Iterable[str | int],
        *,
        concurrency: int | None = None,
    ) -> BatchResult:
        """Remove members from a group: any number of keys, batched and concurrent.

        Raises:
            UnsupportedOperationError: the backend cannot remove members.
            InvalidInputError: a key or the group id is empty or malformed.
        """
        self._require(Capability.MEMBERS_REMOVE, "remove members")
        return await self._batch(group_id, keys, concurrency, add=False)

    async def add_many(
        self,
        memberships: Mapping[str | int, Iterable[str | int]],
        *,
        concurrency: int | None = None,
    ) -> dict[str, BatchResult]:
        """Add members to several groups, packing requests across groups.

        Where the backend allows it (``MEMBERS_ADD_MANY``), keys bound for the same
        set of groups share requests.

        Returns:
            group id -> the result for that group.

        Raises:
            UnsupportedOperationError: the backend cannot add members.
        """
        self._require(Capability.MEMBERS_ADD, "add members")
        return await self._many(memberships, concurrency, add=True)

    async def remove_many(
        self,
        memberships: Mapping[str | int, Iterable[str | int]],
        *,
        concurrency: int | None = None,
    ) -> dict[str, BatchResult]:
        """Remove members from several groups, packing requests like ``add_many``.

        Raises:
            UnsupportedOperationError: the backend cannot remove members.
        """
        self._require(Capability.MEMBERS_REMOVE, "remove members")
        return await self._many(memberships, concurrency, add=False)

    async def _batch(
        self,
        group_id: str | int,
        keys: Iterable[str | int],
        concurrency: "int | asyncio.Semaphore | None",
        *,
        add: bool,
    ) -> BatchResult:
        gid = self._client._check_group_id(group_id)
        ordered = dedupe_keys(keys)
        backend = self._client.backend
        send = backend.add_members if add else backend.remove_members
        return await run_batches(
            lambda chunk: send([gid], chunk),
            ordered,
            max_batch=backend.max_batch,
            concurrency=concurrency or self._client.concurrency,
        )

    async def _many(
        self,
        memberships: Mapping[str | int, Iterable[str | int]],
        concurrency: int | None,
        *,
        add: bool,
    ) -> dict[str, BatchResult]:
        if not isinstance(memberships, Mapping):
            raise InvalidInputError("memberships must map group ids to member keys")
        normalised: dict[str, list[str]] = {}
        for group, keys in memberships.items():
            gid = self._client._check_group_id(group)
            if gid in normalised:
                raise InvalidInputError(f"group {gid!r} is given twice")
            normalised[gid] = dedupe_keys(keys)
        backend = self._client.backend
        many = Capability.MEMBERS_ADD_MANY if add else Capability.MEMBERS_REMOVE_MANY
        # One semaphore for every group's chunks: the cap holds across the call.
        shared = asyncio.Semaphore(concurrency or self._client.concurrency)
        results: dict[str, BatchResult] = {g: BatchResult() for g in normalised}
        send = backend.add_members if add else backend.remove_members

        async def one_group(gid: str, keys: list[str]) -> None:
            results[gid] = await self._batch(gid, keys, shared, add=add)

        async def one_set(groups: list[str], keys: list[str]) -> None:
            result = await run_batches(
                lambda chunk: send(groups, chunk),
                keys,
                max_batch=backend.max_batch,
                concurrency=shared,
            )
            for gid in groups:
                results[gid] = results[gid].merge(result)

        try:
            async with asyncio.TaskGroup() as tasks:
                if many in self._client.capabilities:
                    for groups, keys in invert(normalised).items():
                        tasks.create_task(one_set(sorted(groups), keys))
                else:
                    for gid, keys in normalised.items():
                        tasks.create_task(one_group(gid, keys))
        except BaseExceptionGroup as eg:
            raise first_exception(eg) from None
        return results
