"""The NeuroIO backend: person groups and pid memberships over NeuroIO's v1 API.

Thin glue: :mod:`.sansio` builds requests and deciphers responses, :mod:`.wire`
structures JSON into models, the Client's transport sends. Nothing here parses
bytes or knows status codes.
"""

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from asyncgroups.backends.base import Capability, GroupBackend
from asyncgroups.backends.neuroio import sansio, wire
from asyncgroups.backends.paging import offset_pages
from asyncgroups.backends.reconcile import create_reconciled
from asyncgroups.config import Secret
from asyncgroups.errors import (
    ClientClosedError,
    ConfigurationError,
    InvalidInputError,
    UnsupportedOperationError,
)
from asyncgroups.models import Group, Member, User
from asyncgroups.transport.base import AsyncTransport, Request
from asyncgroups.validation import check_header_value

__all__ = ["NeuroIO"]


def _positive_int(value: Any, what: str, *, most: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{what} must be an integer >= 1")
    if most is not None and value > most:
        raise ConfigurationError(f"{what} must be at most {most}")
    return value


def _ids(values: Sequence[str | int] | None, what: str) -> list[int] | None:
    if values is None:
        return None
    try:
        return [int(str(v)) for v in values]
    except ValueError:
        raise InvalidInputError(f"{what} must be integers") from None


class NeuroIO:
    """NeuroIO person groups (``https://api.neuroio.com``).

    Member keys are pids; group ids are integers on the wire and strings in the
    models. One membership request serves many groups (``MEMBERS_ADD_MANY``). There
    is no JSON person create, list or lookup: persons come from face photos.

    Args:
        token: an account or space token, sent as ``Authorization: Token ...``.
        base_url: the API host.
        max_batch: pids one membership request carries (at most 100).
        page_size: ``limit`` asked for on listings (the server may clamp it).

    Raises:
        ConfigurationError: a bad token, base URL or number.
    """

    name: ClassVar[str] = "neuroio"
    CAPABILITIES: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.GROUPS_CREATE,
            Capability.GROUPS_UPDATE,
            Capability.GROUPS_DELETE,
            Capability.MEMBERS_LIST,
            Capability.MEMBERS_ADD,
            Capability.MEMBERS_REMOVE,
            Capability.MEMBERS_ADD_MANY,
            Capability.MEMBERS_REMOVE_MANY,
            Capability.USERS_DELETE,
        }
    )

    def __init__(
        self,
        token: "str | Secret",
        *,
        base_url: str = sansio.DEFAULT_BASE_URL,
        max_batch: int = sansio.MAX_PIDS,
        page_size: int = 100,
    ) -> None:
        given: object = token
        secret = Secret(given) if isinstance(given, str | Secret) else None
        if secret is None:
            raise ConfigurationError("token must be a string")
        check_header_value(secret.reveal(), "token")
        self._token = secret
        self._base_url = sansio.check_base_url(base_url)
        self._max_batch = _positive_int(max_batch, "max_batch", most=sansio.MAX_PIDS)
        self._page_size = _positive_int(page_size, "page_size")
        self._origin = sansio.Origin(
            self._base_url, {"Authorization": f"Token {secret.reveal()}"}
        )
        self._transport: AsyncTransport | None = None

    def __repr__(self) -> str:
        return f"NeuroIO(base_url={self._base_url!r}, token=Secret('***'))"

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What NeuroIO can do."""
        return self.CAPABILITIES

    @property
    def max_batch(self) -> int:
        """Pids one membership request carries."""
        return self._max_batch

    @property
    def base_url(self) -> str:
        """The API host requests go to."""
        return self._base_url

    def bind(self, transport: AsyncTransport) -> None:
        """Receive the Client's transport stack."""
        self._transport = transport

    async def _call(self, request: Request, *, body: bool = True) -> Any:
        if self._transport is None:
            raise ClientClosedError("NeuroIO backend is not bound to a Client")
        response = await self._transport.send(request)
        return sansio.decipher(response, body=body)

    # groups

    async def create_group(self, name: str, **fields: Any) -> Group:
        """Create a person group; an ambiguous attempt is reconciled, never doubled.

        Before sending, the groups named exactly ``name`` are listed (``?q=name``,
        filtered to exact matches): usually one request, more only when over a
        page of groups contain the name. A create whose answer was lost adopts
        only an exact-name group absent from that list.

        Raises:
            InvalidInputError: a field NeuroIO groups do not have.
            APIError: the server refused.
        """
        _only_name(fields)
        # Why a lookup before every create: NeuroIO groups carry no timestamps,
        # names need not be unique and the listing order is undocumented, so only
        # the ids that existed before sending tell an older same-named group from
        # the one a lost create made. Taken after the outcome is unknown it would
        # be too late (the lost create may already be in it).
        before = {g.id async for g in self._named(name)}

        async def send() -> Group:
            return wire.structure_group(
                await self._call(sansio.build_create_group(self._origin, name))
            )

        async def find() -> Group | None:
            fresh = [g async for g in self._named(name) if g.id not in before]
            return max(fresh, key=lambda g: int(g.id), default=None)

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
        data = await self._call(sansio.build_get_group(self._origin, group_id))
        return wire.structure_group(data)

    async def update_group(self, group_id: str, **fields: Any) -> Group:
        """Rename a group (``name`` is its only field).

        Raises:
            InvalidInputError: a field NeuroIO groups do not have.
            NotFoundError: no such group.
        """
        _only_name(fields)
        name = fields.get("name")
        if name is None:
            return await self.get_group(group_id)
        request = sansio.build_update_group(self._origin, group_id, name)
        return wire.structure_group(await self._call(request))

    async def delete_group(self, group_id: str) -> None:
        """Delete a group (answered 204).

        Raises:
            NotFoundError: no such group.
        """
        await self._call(sansio.build_delete_group(self._origin, group_id), body=False)

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
        """
        gids = _ids(groups_ids, "groups_ids")
        sids = _ids(spaces_ids, "spaces_ids")

        async def fetch(offset: int, limit: int) -> tuple[list[Group], int]:
            request = sansio.build_list_groups(
                self._origin,
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
            fetch, limit=self._page_size, key=lambda g: g.id, backend=self.name
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
                self._origin, group_id, limit=limit, offset=offset, pids=pids
            )
            return wire.structure_member_page(await self._call(request), group_id)

        async for member in offset_pages(
            fetch, limit=self._page_size, key=lambda m: m.key, backend=self.name
        ):
            yield member

    async def add_members(self, group_ids: Sequence[str], keys: Sequence[str]) -> None:
        """Add up to 100 pids to every group in ``group_ids`` in one request.

        Raises:
            InvalidInputError: more than 100 pids, or none.
            RejectedRequestError: an unknown group or pid, or a full group; nothing
                was applied.
        """
        request = sansio.build_add_members(self._origin, group_ids, keys)
        await self._call(request, body=False)

    async def remove_members(
        self, group_ids: Sequence[str], keys: Sequence[str]
    ) -> None:
        """Remove up to 100 pids from every group in ``group_ids`` in one request.

        Raises:
            InvalidInputError: more than 100 pids, or none.
            RejectedRequestError: an unknown group or pid; nothing was applied.
        """
        request = sansio.build_remove_members(self._origin, group_ids, keys)
        await self._call(request, body=False)

    # users (persons)

    async def create_user(self, **fields: Any) -> User:
        """Unsupported: NeuroIO creates persons from face photos only."""
        raise UnsupportedOperationError("NeuroIO creates persons from photos only")

    async def get_user(self, user_id: str) -> User:
        """Unsupported: NeuroIO has no JSON person lookup."""
        raise UnsupportedOperationError("NeuroIO has no person lookup by pid")

    async def update_user(self, user_id: str, **fields: Any) -> User:
        """Unsupported: NeuroIO persons have no editable JSON fields."""
        raise UnsupportedOperationError("NeuroIO persons cannot be updated")

    async def delete_user(self, user_id: str) -> None:
        """Delete a person by pid (answered 204).

        Raises:
            NotFoundError: no such person.
        """
        await self._call(sansio.build_delete_person(self._origin, user_id), body=False)

    async def iter_users(self, query: str | None = None) -> AsyncIterator[User]:
        """Unsupported: NeuroIO has no person listing (list a group's pids instead)."""
        nothing: tuple[User, ...] = ()
        for user in nothing:  # an async generator that fails on first use
            yield user
        raise UnsupportedOperationError("NeuroIO has no person listing")


def _only_name(fields: dict[str, Any]) -> None:
    extra = sorted(k for k, v in fields.items() if k != "name" and v is not None)
    if extra:
        raise InvalidInputError(
            f"NeuroIO groups have only a name; unsupported fields: {', '.join(extra)}"
        )


if TYPE_CHECKING:
    _: type[GroupBackend] = NeuroIO
