"""One NeuroIO backend bound to one Client: person groups and pid memberships.

Thin glue: `sansio` builds requests and deciphers responses, `wire`
structures JSON into models, the kit's [`Channel`][asyncgroups.backends._kit.Channel]
sends them through the Client's transport. Nothing here parses bytes or knows
status codes. NeuroIO has no JSON person create, lookup, update or listing, so this
session has no such methods (and declares no such capability).
"""

from collections.abc import AsyncIterator, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from asyncgroups.backends._kit import (
    Body,
    Channel,
    Endpoint,
    RecordLocks,
    refuse_unknown,
)
from asyncgroups.backends.base import (
    BackendSession,
    GroupCreator,
    GroupDeleter,
    GroupUpdater,
    MemberAdder,
    MemberRemover,
    UserDeleter,
)
from asyncgroups.backends.neuroio import sansio, wire
from asyncgroups.backends.paging import offset_page_walk, offset_pages
from asyncgroups.backends.reconcile import create_reconciled
from asyncgroups.errors import ConflictError, InvalidInputError
from asyncgroups.models import Group, KeyPage, Member
from asyncgroups.transport.base import Request

__all__ = ["NeuroIOSession"]


def _ids(values: Sequence[str | int] | None, what: str) -> list[int] | None:
    if values is None:
        return None
    try:
        return [int(str(v)) for v in values]
    except ValueError:
        raise InvalidInputError(f"{what} must be integers") from None


def _only_name(description: str | None, extra: dict[str, object]) -> None:
    """Refuse every group field but ``name``, before any I/O."""
    if description is not None:
        raise InvalidInputError("NeuroIO groups have only a name, no description")
    refuse_unknown(extra, (), backend="neuroio", what="group")


#: NeuroIO members have no roles.
_NO_ROLES: Mapping[str, str] = MappingProxyType({})


class NeuroIOSession:
    """NeuroIO bound to one Client's transport (``client.session``).

    Beyond the contract it offers NeuroIO's multi-group reads:
    `iter_groups_with_pids`, the filters of `iter_groups` and the pid
    filter of `iter_members` (reach them with
    ``cast(NeuroIOSession, client.session)``).

    Args:
        channel: the line to the Client's transport.
        endpoint: the API host and the ``Authorization`` header.
        page_size: ``limit`` asked for on listings (the server may clamp it).
    """

    __slots__ = ("_channel", "_creates", "_endpoint", "_page_size")

    def __init__(self, channel: Channel, endpoint: Endpoint, *, page_size: int) -> None:
        self._channel = channel
        self._endpoint = endpoint
        self._page_size = page_size
        #: Creates of one name run one at a time (see `create_group`).
        self._creates = RecordLocks()

    def __repr__(self) -> str:
        state = "closed" if self._channel.closed else "open"
        return f"<NeuroIOSession base_url={self._endpoint.base_url!r} {state}>"

    async def _call(self, request: Request, expect: Body = Body.JSON) -> Any:
        response = await self._channel.send(request)
        return sansio.decipher(response, expect)

    def check_group_id(self, group_id: str) -> None:
        """Refuse a group id that is not an integer, before any I/O.

        Raises:
            NotFoundError: the id is not an integer, so no group can have it.
        """
        sansio.group_id_int(group_id)

    async def aclose(self) -> None:
        """Refuse every later request (idempotent); the transport is the Client's."""
        self._channel.close()

    # groups

    async def create_group(
        self, name: str, *, description: str | None = None, **extra: object
    ) -> Group:
        """Create a person group; an ambiguous attempt is reconciled, never doubled.

        Before sending, the groups named exactly ``name`` are listed (``?q=name``,
        filtered to exact matches): usually one request, more only when over a
        page of groups contain the name. A create whose answer was lost adopts
        the one exact-name group absent from that list.

        Creates of one name through this session run one at a time, so the only
        group that can appear between that listing and the lookup is this
        create's: a caller never adopts another caller's group, and no lost
        create's group is left behind. Another process creating the same name at
        the same moment is beyond this session's knowledge: if several new groups
        of the name appear, none is adopted and a ``ConflictError`` names them.

        Raises:
            InvalidInputError: a description or any other field: NeuroIO groups
                have only a name.
            ConflictError: the answer was lost and several new groups of that
                name appeared meanwhile (other clients'); ``candidate_group_ids``
                lists them, one of which this create may have made.
            APIError: the server refused.
        """
        _only_name(description, extra)
        # Why a lookup before every create: NeuroIO groups carry no timestamps,
        # names need not be unique and the listing order is undocumented, so only
        # the ids that existed before sending tell an older same-named group from
        # the one a lost create made. Taken after the outcome is unknown it would
        # be too late (the lost create may already be in it).
        async with self._creates.hold(name):
            before = {g.id async for g in self._named(name)}

            async def send() -> Group:
                return wire.structure_group(
                    await self._call(sansio.build_create_group(self._endpoint, name))
                )

            async def find() -> Group | None:
                fresh = [g async for g in self._named(name) if g.id not in before]
                if len(fresh) > 1:
                    ids = sorted((g.id for g in fresh), key=int)
                    error = ConflictError(
                        f"the answer to creating group {name!r} was lost and "
                        f"{len(ids)} groups of that name appeared meanwhile (ids "
                        f"{', '.join(ids)}), made by other clients: none is adopted",
                        backend=sansio.BACKEND,
                    )
                    error.candidate_group_ids = ids  # type: ignore[attr-defined]
                    raise error
                return fresh[0] if fresh else None

            return await create_reconciled(send, find)

    async def _named(self, name: str) -> AsyncIterator[Group]:
        async for group in self.iter_groups(name):
            if group.name == name:
                yield group

    async def get_group(self, group_id: str) -> Group:
        """Fetch one group.

        Raises:
            NotFoundError: no such group in the token's space.
        """
        # _call, inlined: a frame less on the most frequent read
        response = await self._channel.send(
            sansio.build_get_group(self._endpoint, group_id)
        )
        return wire.structure_group(sansio.decipher(response))

    async def update_group(
        self,
        group_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        **extra: object,
    ) -> Group:
        """Rename a group (``name`` is its only field; ``None`` leaves it).

        Raises:
            InvalidInputError: a description or any other field.
            NotFoundError: no such group.
        """
        _only_name(description, extra)
        if name is None:
            return await self.get_group(group_id)
        request = sansio.build_update_group(self._endpoint, group_id, name)
        return wire.structure_group(await self._call(request))

    async def delete_group(self, group_id: str) -> None:
        """Delete a group (answered 204).

        Raises:
            NotFoundError: no such group.
        """
        request = sansio.build_delete_group(self._endpoint, group_id)
        await self._call(request, Body.NONE)

    async def iter_groups(
        self,
        query: str | None = None,
        *,
        pids_include: Sequence[str] | None = None,
        pids_exclude: Sequence[str] | None = None,
        groups_ids: Sequence[str | int] | None = None,
        spaces_ids: Sequence[str | int] | None = None,
    ) -> AsyncIterator[Group]:
        """Iterate over groups, filtered by name (``q``) and NeuroIO's filters.

        Args:
            query: a name filter (substring).
            pids_include: only groups holding any of these pids.
            pids_exclude: only groups holding none of these pids.
            groups_ids: only these group ids.
            spaces_ids: only groups in these spaces.

        Raises:
            InvalidInputError: a group or space id that is not an integer.
        """
        gids = _ids(groups_ids, "groups_ids")
        sids = _ids(spaces_ids, "spaces_ids")

        async def fetch(offset: int, limit: int) -> tuple[list[Group], int]:
            request = sansio.build_list_groups(
                self._endpoint,
                limit=limit,
                offset=offset,
                q=query,
                pids_include=pids_include,
                pids_exclude=pids_exclude,
                groups_ids=gids,
                spaces_ids=sids,
            )
            return wire.structure_group_page(await self._call(request))

        async for group in offset_pages(
            fetch, limit=self._page_size, key=lambda g: g.id, backend=sansio.BACKEND
        ):
            yield group

    def iter_groups_with_pids(
        self, pids: Sequence[str], *, exclude: bool = False
    ) -> AsyncIterator[Group]:
        """Groups holding any of ``pids`` (or, with ``exclude``, none of them)."""
        if exclude:
            return self.iter_groups(pids_exclude=pids)
        return self.iter_groups(pids_include=pids)

    # members

    async def iter_members(
        self, group_id: str, *, pids: Sequence[str] | None = None
    ) -> AsyncIterator[Member]:
        """Iterate over a group's pids (optionally only those in ``pids``).

        Raises:
            NotFoundError: no such group.
        """

        async def fetch(offset: int, limit: int) -> tuple[list[Member], int]:
            request = sansio.build_list_members(
                self._endpoint, group_id, limit=limit, offset=offset, pids=pids
            )
            return wire.structure_member_page(await self._call(request), group_id)

        async for member in offset_pages(
            fetch, limit=self._page_size, key=lambda m: m.key, backend=sansio.BACKEND
        ):
            yield member

    async def iter_member_keys(self, group_id: str) -> AsyncIterator[KeyPage]:
        """A group's pids a page at a time, no member built (the sync's path).

        Raises:
            NotFoundError: no such group.
        """

        async def fetch(offset: int, limit: int) -> tuple[list[str], int]:
            request = sansio.build_list_members(
                self._endpoint, group_id, limit=limit, offset=offset
            )
            return wire.member_keys_page(await self._call(request))

        async for page in offset_page_walk(
            fetch, limit=self._page_size, backend=sansio.BACKEND
        ):
            yield page, _NO_ROLES

    async def add_members(self, group_ids: Sequence[str], keys: Sequence[str]) -> None:
        """Add up to 100 pids to every group in ``group_ids`` in one request.

        Raises:
            InvalidInputError: more than 100 pids, or none.
            RejectedRequestError: an unknown group or pid, or a full group; nothing
                was applied.
        """
        request = sansio.build_add_members(self._endpoint, group_ids, keys)
        await self._call(request, Body.NONE)

    async def remove_members(
        self, group_ids: Sequence[str], keys: Sequence[str]
    ) -> None:
        """Remove up to 100 pids from every group in ``group_ids`` in one request.

        Raises:
            InvalidInputError: more than 100 pids, or none.
            RejectedRequestError: an unknown group or pid; nothing was applied.
        """
        request = sansio.build_remove_members(self._endpoint, group_ids, keys)
        await self._call(request, Body.NONE)

    # persons: delete only (they are created from face photos)

    async def delete_user(self, user_id: str) -> None:
        """Delete a person by pid (answered 204), leaving every group.

        Raises:
            InvalidInputError: the pid is not one plain path segment.
            NotFoundError: no such person.
        """
        request = sansio.build_delete_person(self._endpoint, user_id)
        await self._call(request, Body.NONE)


if TYPE_CHECKING:
    _s: type[BackendSession] = NeuroIOSession
    _c: type[GroupCreator] = NeuroIOSession
    _u: type[GroupUpdater] = NeuroIOSession
    _d: type[GroupDeleter] = NeuroIOSession
    _a: type[MemberAdder] = NeuroIOSession
    _r: type[MemberRemover] = NeuroIOSession
    _ud: type[UserDeleter] = NeuroIOSession
