"""The SCIM 2.0 backend: Users, Groups and group membership (RFC 7643/7644).

Thin glue: :mod:`.sansio` builds requests and deciphers responses, :mod:`.wire`
maps JSON onto models, the Client's transport sends. ``/ServiceProviderConfig`` is
read once, at first use, and decides how writes are made (PATCH or a conditional
read-modify-write PUT), whether listings are filtered on the server, and whether
one ``/Bulk`` request may serve several groups.
"""

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from asyncgroups.backends.base import Capability, GroupBackend
from asyncgroups.backends.reconcile import create_reconciled
from asyncgroups.config import Secret
from asyncgroups.errors import (
    ConfigurationError,
    InvalidInputError,
    NotFoundError,
    RejectedRequestError,
)
from asyncgroups.models import Group, Member, User
from asyncgroups.transport.base import AsyncTransport
from asyncgroups.validation import check_email, check_header_value
from asyncgroups_scim import sansio, wire
from asyncgroups_scim.session import Session

__all__ = ["SCIM"]

_USER_FIELDS = frozenset(
    {"email", "first_name", "last_name", "user_name", "external_id", "active"}
)
_GROUP_FIELDS = frozenset({"name", "description", "external_id"})


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{what} must be an integer >= 1")
    return value


def _check_fields(fields: dict[str, Any], allowed: frozenset[str], what: str) -> None:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise InvalidInputError(f"unknown {what} fields: {', '.join(unknown)}")


def _check_group_fields(fields: dict[str, Any]) -> None:
    """Refuse what a core SCIM Group cannot store rather than drop it silently."""
    _check_fields(fields, _GROUP_FIELDS, "group")
    if fields.get("description") is not None:
        raise InvalidInputError("core SCIM Groups have no description")


class SCIM:
    """A SCIM 2.0 service provider (RFC 7644), e.g. an IdP or directory.

    Group ids and member keys are SCIM ids; members are added and removed with
    PATCH ``add``/``remove`` operations on ``members`` (atomic per request). Where
    the server lacks PATCH, membership changes are a read-modify-write PUT,
    serialised per group and conditional on ``If-Match`` when ETags are announced;
    a 412 is re-read and retried.

    Args:
        base_url: the SCIM root, e.g. ``https://idp.example.com/scim/v2``.
        token: a bearer token (RFC 6750).
        member_batch: member ids one PATCH carries.
        page_size: ``count`` asked for on listings (the server may clamp it).
        verify_members: look member ids up before adding them, so unknown ids fail
            with ``NotFoundError`` (needs filtering; one lookup per 50 ids).
        member_emails: fill ``Member.email`` with one user lookup per 50 members.
        conflict_retries: re-reads after a 412 before giving up.

    Raises:
        ConfigurationError: a bad token, base URL or number.
    """

    name: ClassVar[str] = "scim"
    CAPABILITIES: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.GROUPS_CREATE,
            Capability.GROUPS_UPDATE,
            Capability.GROUPS_DELETE,
            Capability.USERS_GET,
            Capability.USERS_LIST,
            Capability.USERS_CREATE,
            Capability.USERS_UPDATE,
            Capability.USERS_DELETE,
            Capability.MEMBERS_LIST,
            Capability.MEMBERS_ADD,
            Capability.MEMBERS_REMOVE,
        }
    )
    #: Added once ``/ServiceProviderConfig`` announces ``bulk`` (and PATCH).
    BULK_CAPABILITIES: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.MEMBERS_ADD_MANY, Capability.MEMBERS_REMOVE_MANY}
    )

    def __init__(
        self,
        *,
        base_url: str,
        token: "str | Secret",
        member_batch: int = 100,
        page_size: int = 100,
        verify_members: bool = True,
        member_emails: bool = False,
        conflict_retries: int = 20,
    ) -> None:
        given: object = token
        if not isinstance(given, str | Secret):
            raise ConfigurationError("token must be a string")
        secret = Secret(given)
        check_header_value(secret.reveal(), "token")
        self._origin = sansio.Origin(sansio.check_base_url(base_url), secret)
        self._max_batch = _positive_int(member_batch, "member_batch")
        self._page_size = _positive_int(page_size, "page_size")
        self._retries = _positive_int(conflict_retries, "conflict_retries")
        self._verify = bool(verify_members)
        self._member_emails = bool(member_emails)
        self._io = Session(self._origin, page_size=page_size, retries=conflict_retries)

    def __repr__(self) -> str:
        return f"SCIM(base_url={self._origin.base_url!r}, token=Secret('***'))"

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What this server can do (grows after ``/ServiceProviderConfig`` is read)."""
        sp = self._io.provider
        if sp is not None and sp.bulk and sp.patch:
            return self.CAPABILITIES | self.BULK_CAPABILITIES
        return self.CAPABILITIES

    @property
    def max_batch(self) -> int:
        """Member ids one request carries."""
        return self._max_batch

    @property
    def base_url(self) -> str:
        """The SCIM root requests go to."""
        return self._origin.base_url

    @property
    def service_provider(self) -> wire.ServiceProvider | None:
        """The announced features, once read (see :meth:`discover`)."""
        return self._io.provider

    def bind(self, transport: AsyncTransport) -> None:
        """Receive the Client's transport stack."""
        self._io.transport = transport

    async def discover(self) -> wire.ServiceProvider:
        """Read ``/ServiceProviderConfig`` once; later calls return the cached answer.

        A server without the endpoint (404/501) is taken to support PATCH and
        filtering, and neither ETags nor bulk.

        Raises:
            APIError: the server refused (401, 5xx...).
            DecodeError: the document is not a ServiceProviderConfig.
        """
        return await self._io.discover()

    # groups

    async def create_group(self, name: str, **fields: Any) -> Group:
        """Create a Group; a lost answer is reconciled by ``externalId``.

        An ``externalId`` is generated unless ``external_id`` is given.

        Raises:
            InvalidInputError: a ``description`` was given (core SCIM Groups have
                none), or an unknown field.
        """
        _check_group_fields({"name": name, **fields})
        external_id = fields.get("external_id") or uuid.uuid4().hex
        body = wire.group_payload(display_name=name, external_id=external_id)
        request = sansio.build_create(self._origin, "Groups", body)

        async def send() -> dict[str, Any]:
            return await self._io.call(request)  # type: ignore[no-any-return]

        async def find() -> dict[str, Any] | None:
            return await self._io.find("Groups", "externalId", external_id)

        data = await create_reconciled(send, find)
        return wire.to_group(wire.structure(data, wire.WireGroup))

    async def get_group(self, group_id: str) -> Group:
        """Fetch one Group (without its members)."""
        request = sansio.build_get(
            self._origin, "Groups", group_id, excluded_attributes="members"
        )
        return wire.to_group(
            wire.structure(await self._io.call(request), wire.WireGroup)
        )

    async def update_group(self, group_id: str, **fields: Any) -> Group:
        """Rename a Group or change its ``externalId``.

        Raises:
            InvalidInputError: a ``description`` was given (core SCIM Groups have
                none), or an unknown field.
        """
        _check_group_fields(fields)
        changes = {
            k: v
            for k, v in {
                "displayName": fields.get("name"),
                "externalId": fields.get("external_id"),
            }.items()
            if v is not None
        }
        if not changes:
            return await self.get_group(group_id)
        ops = [{"op": "replace", "path": k, "value": v} for k, v in changes.items()]
        data = await self._io.modify(
            "Groups", group_id, ops, lambda old: {**old, **changes}
        )
        return wire.to_group(wire.structure(data, wire.WireGroup))

    async def delete_group(self, group_id: str) -> None:
        """Delete a Group."""
        await self._io.call(sansio.build_delete(self._origin, "Groups", group_id))

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

    async def create_user(self, **fields: Any) -> User:
        """Create a User; ``userName`` defaults to the e-mail.

        Raises:
            InvalidInputError: neither ``user_name`` nor ``email`` was given.
        """
        _check_fields(fields, _USER_FIELDS, "user")
        email = fields.get("email")
        if email is not None:
            check_email(email)
        user_name = fields.get("user_name") or email
        if not user_name:
            raise InvalidInputError("a SCIM user needs user_name or email")
        body = wire.user_payload(
            user_name=user_name,
            email=email,
            first_name=fields.get("first_name"),
            last_name=fields.get("last_name"),
            external_id=fields.get("external_id"),
            active=fields.get("active"),
        )
        request = sansio.build_create(self._origin, "Users", body)

        async def send() -> dict[str, Any]:
            return await self._io.call(request)  # type: ignore[no-any-return]

        async def find() -> dict[str, Any] | None:
            return await self._io.find("Users", "userName", user_name)

        data = await create_reconciled(send, find)
        return wire.to_user(wire.structure(data, wire.WireUser))

    async def get_user(self, user_id: str) -> User:
        """Fetch one User."""
        request = sansio.build_get(self._origin, "Users", user_id)
        return wire.to_user(wire.structure(await self._io.call(request), wire.WireUser))

    async def update_user(self, user_id: str, **fields: Any) -> User:
        """Change a User's e-mail, names, ``userName``, ``active`` or ``externalId``."""
        _check_fields(fields, _USER_FIELDS, "user")
        if fields.get("email") is not None:
            check_email(fields["email"])
        paths = {
            "first_name": "name.givenName",
            "last_name": "name.familyName",
            "user_name": "userName",
            "external_id": "externalId",
            "active": "active",
        }
        ops = [
            {"op": "replace", "path": paths[k], "value": v}
            for k, v in fields.items()
            if k in paths and v is not None
        ]
        if fields.get("email") is not None:
            value = wire.user_payload(user_name="-", email=fields["email"])["emails"]
            ops.append({"op": "replace", "path": "emails", "value": value})
        if not ops:
            return await self.get_user(user_id)

        def change(old: dict[str, Any]) -> dict[str, Any]:
            return wire.user_payload(
                user_name=fields.get("user_name") or old.get("userName") or "",
                email=fields.get("email"),
                first_name=fields.get("first_name"),
                last_name=fields.get("last_name"),
                external_id=fields.get("external_id"),
                active=fields.get("active"),
                base=old,
            )

        data = await self._io.modify("Users", user_id, ops, change)
        return wire.to_user(wire.structure(data, wire.WireUser))

    async def delete_user(self, user_id: str) -> None:
        """Delete a User."""
        await self._io.call(sansio.build_delete(self._origin, "Users", user_id))

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
            self._origin, "Groups", group_id, attributes="members"
        )
        refs = wire.member_refs(await self._io.call(request))
        sp = await self._io.discover()
        emails: dict[str, str] = {}
        if self._member_emails and sp.filter and refs:
            users = await self._io.lookup([r.value for r in refs], "emails")
            for uid, item in users.items():
                email = wire.primary_email(wire.structure(item, wire.WireUser))
                if email:
                    emails[uid] = email
        for member in wire.to_members(group_id, refs, emails):
            yield member

    async def _check_users(self, keys: Sequence[str]) -> None:
        found = await self._io.lookup(keys, "id")
        missing = [k for k in keys if k not in found]
        if missing:
            raise NotFoundError(
                f"no user with id {missing[0]!r}"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                backend=self.name,
                status=404,
            )

    async def add_members(self, group_ids: Sequence[str], keys: Sequence[str]) -> None:
        """Add users to groups: one PATCH per group, or one ``/Bulk`` for several.

        Raises:
            NotFoundError: an id names no user (with ``verify_members``), or no group.
        """
        sp = await self._io.discover()
        if self._verify and sp.filter:
            await self._check_users(keys)
        await self._members(group_ids, keys, add=True)

    async def remove_members(
        self, group_ids: Sequence[str], keys: Sequence[str]
    ) -> None:
        """Remove users from groups; removing a non-member is not an error."""
        await self._members(group_ids, keys, add=False)

    async def _members(
        self, group_ids: Sequence[str], keys: Sequence[str], *, add: bool
    ) -> None:
        sp = await self._io.discover()
        ops = sansio.member_add_ops(keys) if add else sansio.member_remove_ops(keys)
        if len(group_ids) > 1 and sp.bulk and sp.patch:
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
        request = sansio.build_patch(self._origin, "Groups", gid, ops, idempotent=True)
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
                    "path": "/" + sansio.resource_path("Groups", gid),
                    "data": sansio.patch_body(ops),
                }
                for gid in group_ids[i : i + most]
            ]
            request = sansio.build_bulk(self._origin, operations, idempotent=True)
            data, response = await self._io.send(request)
            errors = sansio.bulk_errors(response, data)
            if errors:
                raise errors[0]


if TYPE_CHECKING:
    _: type[GroupBackend] = SCIM
