"""One Client's binding to a SCIM service provider: `SCIMSession`.

Everything that belongs to one Client lives here and nowhere else: the
[`Channel`][asyncgroups.backends._kit.Channel] to its transport, the
``/ServiceProviderConfig`` read once at first use (and the lock that makes it
once), and the per-resource locks that serialise read-modify-write PUTs. Two
Clients given one [`SCIM`][asyncgroups_scim.SCIM] never share any of it.

The session is thin glue: `sansio` builds requests and deciphers answers,
`wire` maps JSON onto models, `fields` checks what callers set, and
the I/O core (`exchange`) sends, pages and writes conditionally.
"""

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from attrs import frozen

from asyncgroups.backends._kit import Endpoint, create_reconciled
from asyncgroups.backends.base import (
    BackendSession,
    GroupCreator,
    GroupDeleter,
    GroupUpdater,
    MemberAdder,
    MemberRemover,
    UserCreator,
    UserDeleter,
    UserLister,
    UserReader,
    UserUpdater,
)
from asyncgroups.errors import InvalidInputError, NotFoundError, RejectedRequestError
from asyncgroups.models import Group, Member, User
from asyncgroups.transport.base import AsyncTransport
from asyncgroups.validation import check_id
from asyncgroups_scim import fields as scim_fields, sansio, wire
from asyncgroups_scim.exchange import Exchange

__all__ = ["Options", "SCIMSession"]


@frozen
class Options:
    """How a session behaves (from the [`SCIM`][asyncgroups_scim.SCIM] arguments).

    Attributes:
        page_size: ``count`` asked for on listings.
        retries: re-reads after a 412 before giving up.
        verify_members: look member ids up before adding them.
        member_emails: fill ``Member.email`` with user lookups.
        bulk: one ``/Bulk`` request may serve several groups.
    """

    page_size: int = 100
    retries: int = 20
    verify_members: bool = True
    member_emails: bool = False
    bulk: bool = False


class SCIMSession:
    """A SCIM service provider bound to one Client's transport.

    Made by [`SCIM.open`][asyncgroups_scim.SCIM.open]; closed with its Client.
    Beyond the capability Protocols it offers `discover` and
    `service_provider` (reach them with ``cast(SCIMSession, client.session)``).
    """

    __slots__ = ("_io", "_options")

    def __init__(
        self, transport: AsyncTransport, endpoint: Endpoint, options: Options
    ) -> None:
        self._options = options
        # This session's own I/O core: channel, discovery cache, record locks.
        self._io = Exchange(
            transport, endpoint, page_size=options.page_size, retries=options.retries
        )

    def __repr__(self) -> str:
        state = "closed" if self._io.closed else "open"
        return f"<SCIMSession {self._io.endpoint.base_url!r} {state}>"

    @property
    def service_provider(self) -> wire.ServiceProvider | None:
        """The announced features, once read (see `discover`)."""
        return self._io.provider

    async def discover(self) -> wire.ServiceProvider:
        """Read ``/ServiceProviderConfig`` once; later calls return the cached answer.

        A server without the endpoint (404/501) is taken to support PATCH and
        filtering, and neither ETags nor bulk.

        Raises:
            ClientClosedError: the session was closed.
            APIError: the server refused (401, 5xx...).
            DecodeError: the document is not a ServiceProviderConfig.
        """
        return await self._io.discover()

    def check_group_id(self, group_id: str) -> None:
        """Refuse an id that cannot be a path segment (empty, control characters).

        Raises:
            InvalidInputError: the id is empty or holds control characters.
        """
        check_id(group_id, "group id")

    async def aclose(self) -> None:
        """Refuse every later request (idempotent); the transport is the Client's."""
        self._io.close()

    # groups

    async def create_group(
        self, name: str, *, description: str | None = None, **extra: object
    ) -> Group:
        """Create a Group; a lost answer is reconciled by ``externalId``.

        An ``externalId`` is generated unless ``external_id`` is given in ``extra``.

        Raises:
            InvalidInputError: a ``description`` was given (core SCIM Groups have
                none), or an unknown ``extra`` key.
        """
        checked = scim_fields.group_fields(name, description, extra)
        external_id = checked.external_id or uuid.uuid4().hex
        body = wire.group_payload(display_name=name, external_id=external_id)
        request = sansio.build_create(self._io.endpoint, "Groups", body)

        async def send() -> dict[str, Any]:
            return await self._io.call(request)  # type: ignore[no-any-return]

        async def find() -> dict[str, Any] | None:
            return await self._io.find("Groups", "externalId", external_id)

        data = await create_reconciled(send, find)
        return wire.to_group(wire.structure(data, wire.WireGroup))

    async def get_group(self, group_id: str) -> Group:
        """Fetch one Group (without its members)."""
        request = sansio.build_get(
            self._io.endpoint, "Groups", group_id, excluded_attributes="members"
        )
        return wire.to_group(
            wire.structure(await self._io.call(request), wire.WireGroup)
        )

    async def update_group(
        self,
        group_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        **extra: object,
    ) -> Group:
        """Rename a Group or change its ``externalId`` (``extra["external_id"]``).

        Raises:
            InvalidInputError: a ``description`` was given (core SCIM Groups have
                none), or an unknown ``extra`` key.
        """
        checked = scim_fields.group_fields(name, description, extra)
        if not checked.changes():
            return await self.get_group(group_id)
        data = await self._io.modify(
            "Groups", group_id, checked.patch_ops(), checked.change()
        )
        return wire.to_group(wire.structure(data, wire.WireGroup))

    async def delete_group(self, group_id: str) -> None:
        """Delete a Group."""
        await self._io.call(sansio.build_delete(self._io.endpoint, "Groups", group_id))

    async def iter_groups(self, query: str | None = None) -> AsyncIterator[Group]:
        """Iterate over Groups, ``query`` matching names by substring (``co``)."""
        sp = await self._io.discover()
        filt = f"displayName co {sansio.quote_value(query)}" if query else None
        needle = query.casefold() if query else None
        async for item in self._io.walk(
            "Groups", filt if sp.filter else None, excluded_attributes="members"
        ):
            group = wire.to_group(wire.structure(item, wire.WireGroup))
            if needle is None or needle in group.name.casefold():
                yield group

    # users

    async def create_user(
        self,
        *,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        **extra: object,
    ) -> User:
        """Create a User; ``userName`` (``extra["user_name"]``) defaults to the e-mail.

        ``extra`` may also carry ``external_id`` and ``active``.

        Raises:
            InvalidInputError: neither ``user_name`` nor ``email`` was given, a bad
                e-mail, or an unknown ``extra`` key.
        """
        checked = scim_fields.user_fields(email, first_name, last_name, extra)
        user_name = checked.user_name or email
        if not user_name:
            raise InvalidInputError("a SCIM user needs user_name or email")
        request = sansio.build_create(
            self._io.endpoint, "Users", checked.payload(user_name)
        )

        async def send() -> dict[str, Any]:
            return await self._io.call(request)  # type: ignore[no-any-return]

        async def find() -> dict[str, Any] | None:
            return await self._io.find("Users", "userName", user_name)

        data = await create_reconciled(send, find)
        return wire.to_user(wire.structure(data, wire.WireUser))

    async def get_user(self, user_id: str) -> User:
        """Fetch one User."""
        request = sansio.build_get(self._io.endpoint, "Users", user_id)
        return wire.to_user(wire.structure(await self._io.call(request), wire.WireUser))

    async def update_user(
        self,
        user_id: str,
        *,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        **extra: object,
    ) -> User:
        """Change a User's e-mail, names, or ``user_name``/``active``/``external_id``.

        Raises:
            InvalidInputError: a bad e-mail, or an unknown ``extra`` key.
        """
        checked = scim_fields.user_fields(email, first_name, last_name, extra)
        ops = checked.patch_ops()
        if not ops:
            return await self.get_user(user_id)
        data = await self._io.modify("Users", user_id, ops, checked.change())
        return wire.to_user(wire.structure(data, wire.WireUser))

    async def delete_user(self, user_id: str) -> None:
        """Delete a User."""
        await self._io.call(sansio.build_delete(self._io.endpoint, "Users", user_id))

    async def iter_users(self, query: str | None = None) -> AsyncIterator[User]:
        """Iterate over Users, ``query`` matching ``userName`` or e-mail by substring."""
        sp = await self._io.discover()
        filt = None
        if query and sp.filter:
            q = sansio.quote_value(query)
            filt = f"userName co {q} or emails.value co {q}"
        needle = query.casefold() if query else None
        async for item in self._io.walk("Users", filt):
            user = wire.to_user(wire.structure(item, wire.WireUser))
            texts = (user.email or "", str(user.extra.get("userName", "")))
            if needle is None or any(needle in t.casefold() for t in texts):
                yield user

    # members

    async def iter_members(self, group_id: str) -> AsyncIterator[Member]:
        """Iterate over a Group's members (SCIM returns them in one document)."""
        request = sansio.build_get(
            self._io.endpoint, "Groups", group_id, attributes="members"
        )
        refs = wire.member_refs(await self._io.call(request))
        sp = await self._io.discover()
        emails: dict[str, str] = {}
        if self._options.member_emails and sp.filter and refs:
            users = await self._io.lookup([r.value for r in refs], "emails")
            for uid, item in users.items():
                email = wire.primary_email(wire.structure(item, wire.WireUser))
                if email:
                    emails[uid] = email
        for member in wire.to_members(group_id, refs, emails):
            yield member

    async def add_members(self, group_ids: Sequence[str], keys: Sequence[str]) -> None:
        """Add users to groups: one PATCH per group, or one ``/Bulk`` for several.

        Raises:
            NotFoundError: an id names no user (with ``verify_members``), or no group.
        """
        sp = await self._io.discover()
        if self._options.verify_members and sp.filter:
            await self._check_users(keys)
        await self._members(group_ids, keys, add=True)

    async def remove_members(
        self, group_ids: Sequence[str], keys: Sequence[str]
    ) -> None:
        """Remove users from groups; removing a non-member is not an error."""
        await self._members(group_ids, keys, add=False)

    async def _check_users(self, keys: Sequence[str]) -> None:
        found = await self._io.lookup(keys, "id")
        missing = [k for k in keys if k not in found]
        if missing:
            raise NotFoundError(
                f"no user with id {missing[0]!r}"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                backend=sansio.BACKEND,
                status=404,
            )

    async def _members(
        self, group_ids: Sequence[str], keys: Sequence[str], *, add: bool
    ) -> None:
        sp = await self._io.discover()
        ops = sansio.member_add_ops(keys) if add else sansio.member_remove_ops(keys)
        if len(group_ids) > 1 and self._options.bulk and sp.bulk and sp.patch:
            await self._bulk(group_ids, ops, sp.bulk_max_operations or len(group_ids))
            return
        for gid in group_ids:
            if sp.patch:
                await self._patch_members(gid, keys, ops, add=add)
            else:
                await self._io.replace("Groups", gid, wire.member_change(keys, add=add))

    async def _patch_members(
        self, gid: str, keys: Sequence[str], ops: list[dict[str, Any]], *, add: bool
    ) -> None:
        # Add/remove of member values is a set operation, atomic per request on
        # the server and harmless to replay: no If-Match needed.
        request = sansio.build_patch(
            self._io.endpoint, "Groups", gid, ops, idempotent=True
        )
        try:
            await self._io.call(request)
        except RejectedRequestError as exc:
            # RFC 7644 §3.5.2.2: a value filter matching nothing may be "noTarget".
            if add or sansio.scim_type_of(exc) != "noTarget" or len(keys) != 1:
                raise

    async def _bulk(
        self, group_ids: Sequence[str], ops: list[dict[str, Any]], most: int
    ) -> None:
        for i in range(0, len(group_ids), most):
            operations = [
                {
                    "method": "PATCH",
                    "path": sansio.resource_path("Groups", gid),
                    "data": sansio.patch_body(ops),
                }
                for gid in group_ids[i : i + most]
            ]
            request = sansio.build_bulk(self._io.endpoint, operations, idempotent=True)
            data, response = await self._io.send(request)
            errors = sansio.bulk_errors(response, data)
            if errors:
                raise errors[0]


if TYPE_CHECKING:
    _s: type[BackendSession] = SCIMSession
    _gc: type[GroupCreator] = SCIMSession
    _gu: type[GroupUpdater] = SCIMSession
    _gd: type[GroupDeleter] = SCIMSession
    _ur: type[UserReader] = SCIMSession
    _ul: type[UserLister] = SCIMSession
    _uc: type[UserCreator] = SCIMSession
    _uu: type[UserUpdater] = SCIMSession
    _ud: type[UserDeleter] = SCIMSession
    _ma: type[MemberAdder] = SCIMSession
    _mr: type[MemberRemover] = SCIMSession
