"""One Okta backend bound to one Client: groups, users, members.

Thin glue: `sansio` builds requests and deciphers answers, `wire`
structures JSON into models. Listings follow ``Link: <...>; rel="next"``; each
membership change is one idempotent ``PUT``/``DELETE``, and the changes of one
call are sent together (the Client's limiter paces them by the budgets Okta
announces in its ``X-Rate-Limit-*`` headers).
"""

from collections.abc import AsyncIterator, Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from asyncgroups.backends._kit import (
    Body,
    Channel,
    Endpoint,
    create_reconciled,
    refuse_unknown,
    settle,
)
from asyncgroups.backends.base import (
    BackendSession,
    GroupCreator,
    GroupDeleter,
    GroupUpdater,
    MemberAdder,
    MemberRemover,
    UserLister,
    UserReader,
)
from asyncgroups.backends.okta import sansio, wire
from asyncgroups.backends.paging import cursor_pages
from asyncgroups.errors import UnsupportedOperationError
from asyncgroups.models import Group, Member, User
from asyncgroups.transport.base import Request

__all__ = ["OktaSession"]

T = TypeVar("T")

#: Group types seen, bounded: the type of a group never changes.
_TYPES_KEPT = 100_000


class OktaSession:
    """Okta bound to one Client's transport (``client.session``).

    Args:
        channel: the line to the Client's transport.
        endpoint: the org URL and the ``SSWS`` authorization header.
        page_size: ``limit`` asked for on listings.
    """

    def __init__(self, channel: Channel, endpoint: Endpoint, *, page_size: int) -> None:
        self._channel = channel
        self._endpoint = endpoint
        self._page_size = page_size
        self._types: dict[str, str] = {}

    def __repr__(self) -> str:
        state = "closed" if self._channel.closed else "open"
        return f"<OktaSession org_url={self._endpoint.base_url!r} {state}>"

    # plumbing

    async def _call(self, request: Request, expect: Body = Body.JSON) -> Any:
        return sansio.decipher(await self._channel.send(request), expect)

    def _seen(self, group: Group) -> Group:
        kind = group.extra.get("type")
        if isinstance(kind, str):
            if len(self._types) >= _TYPES_KEPT:
                self._types.clear()
            self._types[group.id] = kind
        return group

    def check_group_id(self, group_id: str) -> None:
        """Refuse an id that can never name an Okta group, before any I/O.

        Raises:
            InvalidInputError: the id holds path, query or space characters.
        """
        sansio.check_id(group_id, "group id")

    async def aclose(self) -> None:
        """Refuse every later request (idempotent); the transport is the Client's."""
        self._channel.close()

    async def _walk(
        self,
        first: Request,
        structure: Callable[[Any], Sequence[T]],
        key: Callable[[T], Hashable],
    ) -> AsyncIterator[T]:
        """Every item of a listing: ``first``, then each ``rel="next"`` link."""

        async def page(link: str | None) -> tuple[Sequence[T], str | None]:
            request = first
            if link is not None:
                request = self._endpoint.follow(
                    link, backend=sansio.BACKEND, family=first.family
                )
            response = await self._channel.send(request)
            return structure(sansio.decipher(response)), sansio.next_link(response)

        async for item in cursor_pages(page, backend=sansio.BACKEND, key=key):
            yield item

    # groups

    async def create_group(
        self, name: str, *, description: str | None = None, **extra: object
    ) -> Group:
        """Create an ``OKTA_GROUP``; an ambiguous attempt is reconciled, never doubled.

        Okta group names are unique in an org, so a create whose answer was lost
        is found again by its name.

        Raises:
            InvalidInputError: an unknown field (Okta groups have no others here).
            APIError: the server refused (a name taken is a 400 ``E0000001``).
        """
        refuse_unknown(extra, (), backend=sansio.BACKEND, what="group")
        request = sansio.build_create_group(self._endpoint, name, description)

        async def send() -> Group:
            return self._seen(wire.structure_group(await self._call(request)))

        async def find() -> Group | None:
            found = await self._call(sansio.build_find_group(self._endpoint, name))
            groups = [g for g in wire.structure_groups(found) if g.name == name]
            return self._seen(groups[0]) if groups else None

        return await create_reconciled(send, find)

    async def get_group(self, group_id: str) -> Group:
        """Fetch one group (its ``type`` in ``extra``).

        Raises:
            NotFoundError: no such group.
        """
        data = await self._call(sansio.build_get_group(self._endpoint, group_id))
        return self._seen(wire.structure_group(data))

    async def update_group(
        self,
        group_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        **extra: object,
    ) -> Group:
        """Change a group's name or description (``None`` leaves one as it is).

        Okta's ``PUT`` replaces the whole profile, so the group is read first and
        the fields not given are sent as they were.

        Raises:
            InvalidInputError: an unknown field.
            NotFoundError: no such group.
        """
        refuse_unknown(extra, (), backend=sansio.BACKEND, what="group")
        current = await self.get_group(group_id)
        if name is None and description is None:
            return current
        request = sansio.build_update_group(
            self._endpoint,
            group_id,
            current.name if name is None else name,
            current.description if description is None else description,
        )
        return self._seen(wire.structure_group(await self._call(request)))

    async def delete_group(self, group_id: str) -> None:
        """Delete a group (answered 204).

        Raises:
            NotFoundError: no such group.
        """
        await self._call(sansio.build_delete_group(self._endpoint, group_id), Body.NONE)
        self._types.pop(group_id, None)

    async def iter_groups(self, query: str | None = None) -> AsyncIterator[Group]:
        """Iterate over groups (``Link`` paging); names starting with ``query``."""
        first = sansio.build_list_groups(self._endpoint, query, self._page_size)

        def groups(data: Any) -> list[Group]:
            return [self._seen(g) for g in wire.structure_groups(data)]

        async for group in self._walk(first, groups, _id):
            yield group

    # users

    async def get_user(self, user_id: str) -> User:
        """Fetch one user by id or login.

        Raises:
            NotFoundError: no such user.
        """
        data = await self._call(sansio.build_get_user(self._endpoint, user_id))
        return wire.structure_user(data)

    async def iter_users(self, query: str | None = None) -> AsyncIterator[User]:
        """Iterate over users; ``query`` matches first name, last name or e-mail."""
        first = sansio.build_list_users(self._endpoint, query, self._page_size)
        async for user in self._walk(first, wire.structure_users, _id):
            yield user

    # members

    async def iter_members(self, group_id: str) -> AsyncIterator[Member]:
        """Iterate over a group's members (user ids are the keys).

        Raises:
            NotFoundError: no such group.
        """
        first = sansio.build_list_members(self._endpoint, group_id, self._page_size)

        def members(data: Any) -> list[Member]:
            return [
                wire.structure_member(u, group_id) for u in wire.structure_users(data)
            ]

        async for member in self._walk(first, members, _key):
            yield member

    async def _writable(self, group_id: str) -> None:
        """Refuse member changes of an ``APP_GROUP``/``BUILT_IN`` group.

        The type is known from any listing or read of the group; if it is not
        known yet, the group is read once (a GET, never a write).
        """
        kind = self._types.get(group_id)
        if kind is None:
            kind = str((await self.get_group(group_id)).extra.get("type"))
        if kind != sansio.WRITABLE_TYPE:
            raise UnsupportedOperationError(
                f"okta group {group_id!r} is of type {kind}: only "
                f"{sansio.WRITABLE_TYPE} memberships can be changed through the API"
            )

    async def _change(
        self, method: str, group_ids: Sequence[str], keys: Sequence[str]
    ) -> None:
        for gid in group_ids:
            sansio.check_id(gid, "group id")
        for key in keys:
            sansio.check_id(key, "member key")
        await settle([self._writable(gid) for gid in group_ids])
        await settle(
            [
                self._call(
                    sansio.build_membership(self._endpoint, method, gid, key),
                    Body.NONE,
                )
                for gid in group_ids
                for key in keys
            ]
        )

    async def add_members(self, group_ids: Sequence[str], keys: Sequence[str]) -> None:
        """Add ``keys`` to every group: one ``PUT`` each, sent together.

        Adding a key that is already a member is success (Okta answers 204).

        Raises:
            UnsupportedOperationError: a group is an ``APP_GROUP`` or ``BUILT_IN``
                group (nothing is sent).
            NotFoundError: a group or a key does not exist (the other changes were
                applied).
        """
        await self._change("PUT", group_ids, keys)

    async def remove_members(
        self, group_ids: Sequence[str], keys: Sequence[str]
    ) -> None:
        """Remove ``keys`` from every group: one ``DELETE`` each, sent together.

        Removing a key that is not a member is success (Okta answers 204).

        Raises:
            UnsupportedOperationError: a group is an ``APP_GROUP`` or ``BUILT_IN``
                group (nothing is sent).
            NotFoundError: a group or a key does not exist.
        """
        await self._change("DELETE", group_ids, keys)


def _id(item: Group | User) -> str:
    return item.id


def _key(member: Member) -> str:
    return member.key


if TYPE_CHECKING:
    _s: type[BackendSession] = OktaSession
    _c: type[GroupCreator] = OktaSession
    _u: type[GroupUpdater] = OktaSession
    _d: type[GroupDeleter] = OktaSession
    _a: type[MemberAdder] = OktaSession
    _r: type[MemberRemover] = OktaSession
    _ur: type[UserReader] = OktaSession
    _ul: type[UserLister] = OktaSession
